package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/guard"
)

// guardSet gives each request the guard of its resolved policy (the
// top-level guard section, then the route's, the key's and the traffic
// tag's overrides: config.Guard.Resolve). One guard is built per distinct
// (route, key, tag) that changes the policy, and rebuilt when its word
// list changes; keys and tags no override names share the route's guard,
// so the set stays as small as the config however many tags clients send.
type guardSet struct {
	cfg       config.Guard
	routes    map[string]*config.Route // by match
	tagHeader string                   // rate_limits.tag_header: the request's traffic tag
	keys      map[string]bool          // key names some override names
	tags      map[string]bool          // tags some override names
	files     map[string]*guard.WordFiles

	mu    sync.Mutex
	built map[guardKey]*builtGuard
}

type guardKey struct{ route, key, tag string }

type builtGuard struct {
	g     *guard.Guard
	scope string
	words *guard.WordList // the list g was built with; another in force: rebuild
	wf    *guard.WordFiles
	cfg   config.Guard
}

// newGuardSet loads the word files of every guard section and builds the
// guard of every route and override once, so that a bad section fails at
// start. It returns nil when no section configures anything: the guard is
// off unless configured.
func newGuardSet(cfg *config.Config) (*guardSet, error) {
	gs := &guardSet{
		cfg:       cfg.Guard,
		routes:    make(map[string]*config.Route, len(cfg.Routes)),
		tagHeader: cfg.RateLimits.TagHeader,
		keys:      map[string]bool{},
		tags:      map[string]bool{},
		files:     map[string]*guard.WordFiles{},
		built:     map[guardKey]*builtGuard{},
	}
	active := guardConfigured(cfg.Guard)
	for _, o := range cfg.Guard.Overrides {
		active = active || len(o.PII) > 0 || len(o.Words.Files) > 0
		if o.Key != "" {
			gs.keys[o.Key] = true
		}
		if o.Tag != "" {
			gs.tags[o.Tag] = true
		}
	}
	for i := range cfg.Routes {
		rt := &cfg.Routes[i]
		gs.routes[rt.Match] = rt
		active = active || guardConfigured(rt.Guard)
	}
	if !active {
		return nil, nil
	}
	matches := []string{""}
	for m := range gs.routes {
		matches = append(matches, m)
	}
	keys, tags := append([]string{""}, mapKeys(gs.keys)...), append([]string{""}, mapKeys(gs.tags)...)
	for _, m := range matches {
		for _, k := range keys {
			for _, t := range tags {
				if _, err := gs.get(guardKey{m, k, t}); err != nil {
					return nil, err
				}
			}
		}
	}
	return gs, nil
}

// reuseGuards returns prev's guard set when cfg changes no guard policy
// (the guard section, the routes' guards, the tag header), so its word
// lists stay loaded and a reload of another section does not depend on
// re-reading them; else cfg's, built afresh.
func reuseGuards(cfg *config.Config, prev *generation) (*guardSet, error) {
	if prev != nil && sameGuards(prev.cfg, cfg) {
		return prev.guards, nil
	}
	return newGuardSet(cfg)
}

func sameGuards(a, b *config.Config) bool {
	if !reflect.DeepEqual(a.Guard, b.Guard) || a.RateLimits.TagHeader != b.RateLimits.TagHeader || len(a.Routes) != len(b.Routes) {
		return false
	}
	for i := range a.Routes {
		if a.Routes[i].Match != b.Routes[i].Match || !reflect.DeepEqual(a.Routes[i].Guard, b.Routes[i].Guard) {
			return false
		}
	}
	return true
}

func guardConfigured(g config.Guard) bool {
	return len(g.PII) > 0 || len(g.Words.Files) > 0
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// For implements server.GuardSet.
func (gs *guardSet) For(route, key string, h http.Header, identTag string) (*guard.Guard, string) {
	tag := ""
	if gs.tagHeader != "" {
		tag = h.Get(gs.tagHeader)
	}
	if tag == "" {
		tag = identTag
	}
	k := guardKey{route: route}
	if gs.keys[key] {
		k.key = key
	}
	if gs.tags[tag] {
		k.tag = tag
	}
	b, err := gs.get(k)
	if err != nil {
		// Cannot happen: every combination was built at start, and a
		// word list that fails to build is not put in force.
		return nil, ""
	}
	return b.g, b.scope
}

// get returns the guard for k, building it on first use and again when
// its word files were reloaded.
func (gs *guardSet) get(k guardKey) (*builtGuard, error) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	b := gs.built[k]
	if b != nil && (b.wf == nil || b.wf.List() == b.words) {
		return b, nil
	}
	var c config.Guard
	if b != nil {
		c = b.cfg
	} else {
		c = gs.cfg.Resolve(gs.routes[k.route], k.key, k.tag)
	}
	nb := &builtGuard{cfg: c, scope: guardScope(c)}
	if len(c.Words.Files) > 0 {
		wf, err := gs.wordFiles(c.Words.Files)
		if err != nil {
			return nil, err
		}
		nb.wf, nb.words = wf, wf.List()
	}
	g, err := guard.FromConfig(c, nb.words)
	if err != nil {
		return nil, fmt.Errorf("guard (route %q, key %q, tag %q): %w", k.route, k.key, k.tag, err)
	}
	nb.g = g
	gs.built[k] = nb
	return nb, nil
}

// wordFiles returns the loaded list of a set of files, loading it once.
// The caller holds mu.
func (gs *guardSet) wordFiles(paths []string) (*guard.WordFiles, error) {
	id := strings.Join(paths, "\x00")
	if wf := gs.files[id]; wf != nil {
		return wf, nil
	}
	wf, err := guard.LoadWordFiles(paths)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	gs.files[id] = wf
	return wf, nil
}

// guardScope names a resolved policy: its actions and custom categories
// (fmt prints maps sorted) and its word files.
func guardScope(c config.Guard) string {
	return fmt.Sprintf("%v|%v|%v", c.PII, c.Custom, c.Words)
}

// watch reloads the word files until ctx ends; a guard picks a new list
// up on its next request. A failed reload keeps the list in force.
func (gs *guardSet) watch(ctx context.Context, log *slog.Logger) {
	gs.mu.Lock()
	files := make([]*guard.WordFiles, 0, len(gs.files))
	for _, wf := range gs.files {
		files = append(files, wf)
	}
	gs.mu.Unlock()
	interval := gs.cfg.Words.Reload
	if interval <= 0 {
		interval = config.DefaultGuardReload
	}
	var wg sync.WaitGroup
	for _, wf := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wf.Watch(ctx, interval, func(err error) {
				log.Warn("guard word files not reloaded; the previous list stays in force", slog.Any("error", err))
			})
		}()
	}
	wg.Wait()
}
