package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// Every top-level config section is either reloadable or restart-only
// (a new section must be put in one of the lists, and documented).
func TestEverySectionClassified(t *testing.T) {
	known := slices.Clone(reloadable)
	for _, s := range restartOnly {
		known = append(known, s.name)
	}
	ft := reflect.TypeOf(config.Config{})
	for i := range ft.NumField() {
		name := yamlName(ft.Field(i))
		if !slices.ContainsFunc(known, func(k string) bool { return k == name || strings.HasPrefix(k, name+".") }) {
			t.Errorf("config section %q is neither reloadable nor restart-only", name)
		}
	}
}

const (
	keyB = "sk-ferry-client-b-0123456789abcdef"
	keyR = "sk-ferry-client-r-0123456789abcdef"
)

// ask posts a small Messages request with key and returns the status and
// the X-Ferry-Cache header (0 with the error when there was no answer).
func ask(hc *http.Client, url, key, model, text string) (int, string, error) {
	body := fmt.Sprintf(`{"model":%q,"max_tokens":16,"messages":[{"role":"user","content":%q}]}`, model, text)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("X-Ferry-Cache"), nil
}

// load runs clients sending requests (half streams) until stop, counting
// the failures.
type load struct {
	ok, failed atomic.Int64
	first      atomic.Value
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

func startLoad(g *gateway, clients int) *load {
	l := &load{}
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	for i := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				code, err := sendModel(g.HTTP, g.URL, "sim-1", i%2 == 0)
				if err != nil || code != 200 {
					l.failed.Add(1)
					l.first.CompareAndSwap(nil, fmt.Sprintf("status %d, %v", code, err))
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return l
}

// end stops the load and fails t unless every request succeeded, and at
// least least did.
func (l *load) end(t *testing.T, least int64) {
	t.Helper()
	l.stop()
	l.wg.Wait()
	if f := l.failed.Load(); f != 0 || l.ok.Load() < least {
		t.Errorf("under load: %d requests failed (first: %v), %d succeeded; want none failed of at least %d", f, l.first.Load(), l.ok.Load(), least)
	}
}

// sendAsync sends a Messages request for model in the background; the
// channel gets nil for a 200.
func sendAsync(g *gateway, model string, stream bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		code, err := sendModel(g.HTTP, g.URL, model, stream)
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		done <- err
	}()
	return done
}

// watchFile marks the config file changed and runs a's watcher on it
// until the test ends.
func watchFile(t *testing.T, a *App, path string) {
	t.Helper()
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.watchConfig(ctx, 10*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestReloadEachSectionUnderLoad reloads keys, rate limits, cache settings,
// guard policy and log level while clients send requests: each change takes
// effect (limiter counters and cache entries carried over), a mixed change
// with a restart-only section changes nothing, and no request fails.
func TestReloadEachSectionUnderLoad(t *testing.T) {
	g := newGateway(t, func(c *config.Config) {
		c.Keys = append(c.Keys, config.Key{Name: "team-r", Key: keyR})
		c.RateLimits.Rules = []config.RateRule{{Scope: "key", Match: "team-r", RPM: 10}}
		c.Routes = append(c.Routes, config.Route{Match: "cached-*", Targets: []config.Target{{Provider: "sim"}},
			Cache: config.RouteCache{TTL: time.Minute}})
	})
	reload := func(what string, change func(c *config.Config)) {
		t.Helper()
		c := *g.App.current().cfg
		change(&c)
		if err := g.App.Reload(&c); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	status := func(key, model, text string) int {
		t.Helper()
		code, _, err := ask(g.HTTP, g.URL, key, model, text)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	l := startLoad(g, 6)
	defer l.end(t, 20)

	// Keys: an added key is accepted, a removed one refused.
	if code := status(keyB, "sim-1", "hi"); code != http.StatusUnauthorized {
		t.Fatalf("team-b before it is added: %d", code)
	}
	withB := func(c *config.Config) { c.Keys = append(slices.Clone(c.Keys), config.Key{Name: "team-b", Key: keyB}) }
	reload("add a key", withB)
	if code := status(keyB, "sim-1", "hi"); code != 200 {
		t.Errorf("team-b after it was added: %d", code)
	}
	reload("remove a key", func(c *config.Config) {
		c.Keys = slices.DeleteFunc(slices.Clone(c.Keys), func(k config.Key) bool { return k.Name == "team-b" })
	})
	if code := status(keyB, "sim-1", "hi"); code != http.StatusUnauthorized {
		t.Errorf("team-b after it was removed: %d, want 401", code)
	}

	// Rate limits: lowered below what the minute took, the counters carry
	// over and the next request is refused; raised, it is admitted.
	for i := range 4 {
		if code := status(keyR, "sim-1", "hi"); code != 200 {
			t.Fatalf("team-r request %d under 10 rpm: %d", i, code)
		}
	}
	rpm := func(n int64) func(c *config.Config) {
		return func(c *config.Config) {
			c.RateLimits.Rules = []config.RateRule{{Scope: "key", Match: "team-r", RPM: n}}
		}
	}
	reload("lower a rate limit", rpm(4))
	if code := status(keyR, "sim-1", "hi"); code != http.StatusTooManyRequests {
		t.Errorf("team-r after lowering to 4 rpm with 4 taken: %d, want 429", code)
	}
	reload("raise a rate limit", rpm(100))
	if code := status(keyR, "sim-1", "hi"); code != 200 {
		t.Errorf("team-r after raising to 100 rpm: %d", code)
	}

	// Cache settings: the entries carry over.
	cached := func() string {
		t.Helper()
		code, result, err := ask(g.HTTP, g.URL, clientKey, "cached-1", "same question")
		if err != nil || code != 200 {
			t.Fatalf("cached route: %d %v", code, err)
		}
		return result
	}
	cached()
	if got := cached(); got != "hit" {
		t.Fatalf("repeat before the reload: X-Ferry-Cache %q, want hit", got)
	}
	before := g.App.current().cache
	reload("cache settings", func(c *config.Config) { c.Cache.MaxEntryBytes = 2 << 20; c.Cache.Coalesce = true })
	if g.App.current().cache == before || !g.App.current().cache.Coalesce() {
		t.Error("the cache settings were not taken")
	}
	if got := cached(); got != "hit" {
		t.Errorf("repeat after the reload: X-Ferry-Cache %q, want hit (entries carried over)", got)
	}

	// Guard policy: a phone number is blocked after the reload, and passes
	// again after the next.
	phone := "call me at " + testPhone
	if code := status(clientKey, "sim-1", phone); code != 200 {
		t.Fatalf("a phone number before the guard: %d", code)
	}
	reload("guard policy", func(c *config.Config) { c.Guard.PII = map[string]string{"phone": "block"} })
	if code := status(clientKey, "sim-1", phone); code == 200 {
		t.Error("a phone number passed a guard policy that blocks it")
	}
	guards := g.App.current().guards
	reload("limits", func(c *config.Config) { c.Limits.MaxRequestBytes = 16 << 20 })
	if g.App.current().guards != guards {
		t.Error("a reload that changes no guard policy rebuilt the guards")
	}
	if code := status(clientKey, "sim-1", phone); code == 200 {
		t.Error("a phone number passed after a reload that kept the blocking guard")
	}
	reload("guard off", func(c *config.Config) { c.Guard.PII = nil })
	if code := status(clientKey, "sim-1", phone); code != 200 {
		t.Errorf("a phone number after the guard was removed: %d", code)
	}

	// Log level.
	reload("log level", func(c *config.Config) { c.Log.Level = "error" })
	if g.App.log.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("warnings still logged at log.level error")
	}
	reload("log level back", func(c *config.Config) { c.Log.Level = "debug" })
	if !g.App.log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug not logged at log.level debug")
	}

	// A mixed change with restart-only sections: refused, naming them, and
	// the key it adds is not accepted.
	gen := g.App.current()
	c := *gen.cfg
	withB(&c)
	c.Listen, c.Shadow.Workers = "127.0.0.1:1", 9
	err := g.App.Reload(&c)
	if err == nil || !strings.Contains(err.Error(), "listen, shadow") {
		t.Fatalf("mixed change: %v, want a refusal naming listen and shadow", err)
	}
	if g.App.current() != gen {
		t.Error("a refused reload swapped the generation")
	}
	if code := status(keyB, "sim-1", "hi"); code != http.StatusUnauthorized {
		t.Errorf("team-b after a refused reload adding it: %d, want 401", code)
	}
	if !strings.Contains(g.Logs.String(), `"reason":"refused: these sections need a restart: listen, shadow"`) {
		t.Error("the refusal's log line does not name the sections")
	}
}

// TestAcquireHoldsGenerationAcrossReload: a request that loaded the
// generation just before a reload swapped it out holds it in flight, so
// the reload does not release it under the request; the request then
// runs on the new generation.
func TestAcquireHoldsGenerationAcrossReload(t *testing.T) {
	var armed atomic.Bool
	held, resume := make(chan struct{}), make(chan struct{})
	g := newGatewayOpts(t, Options{afterHold: func() {
		if armed.CompareAndSwap(true, false) {
			close(held)
			<-resume
		}
	}})
	base := g.App.current().cfg
	first := g.App.current()
	armed.Store(true)
	done := sendAsync(g, "only-new", false)
	<-held
	if err := g.App.Reload(withRoutes(base, nil, append(slices.Clone(base.Routes), simRoute("only-new"))...)); err != nil {
		t.Fatal(err)
	}
	if n := g.App.retiredCount(); n != 1 {
		t.Fatalf("retired generations: %d, want 1: the reload released a generation a request holds", n)
	}
	close(resume)
	if err := <-done; err != nil {
		t.Errorf("the request that held the old generation: %v (want it served on the new one)", err)
	}
	waitRetired(t, g.App, 0)
	if n := first.server.InFlight(); n != 0 {
		t.Errorf("the released generation counts %d requests in flight", n)
	}
}

// The file paths reload more than routes: a key rotated in the file is in
// force after a SIGHUP's reload, and after the watcher's.
func TestReloadFileRotatesKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.yaml")
	write := func(key string) {
		yaml := "listen: 127.0.0.1:0\nadmin: {listen: \"off\"}\nkeys: [{name: t, key: " + key + "}]\n" +
			"providers: [{name: sim, type: simulator}]\nroutes: [{match: sim-1, targets: [{provider: sim}]}]\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(clientKey)
	a := fileApp(t, path)
	url, hc := "http://"+a.Addr(), &http.Client{}
	accepted := func(key string) bool {
		code, _, err := ask(hc, url, key, "sim-1", "hi")
		if err != nil {
			t.Fatal(err)
		}
		return code == 200
	}
	write(keyB)
	if err := a.ReloadFile(); err != nil { // as SIGHUP does
		t.Fatal(err)
	}
	if !accepted(keyB) || accepted(clientKey) {
		t.Fatalf("after rotating the key by SIGHUP: new accepted %v, old accepted %v", accepted(keyB), accepted(clientKey))
	}
	write(keyR)
	watchFile(t, a, path)
	for deadline := time.Now().Add(5 * time.Second); !accepted(keyR); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not put the rotated key in force")
		}
	}
	if accepted(keyB) {
		t.Error("the key rotated out by the watcher's reload is still accepted")
	}
}
