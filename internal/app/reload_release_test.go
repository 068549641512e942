package app

import (
	"slices"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// waitRetired waits until the app keeps want retired generations.
func waitRetired(t *testing.T, a *App, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for a.retiredCount() != want {
		if time.Now().After(deadline) {
			t.Fatalf("retired generations: %d, want %d", a.retiredCount(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReloadReleasesIdleGenerations(t *testing.T) {
	g := newGateway(t)
	base := g.App.current().cfg
	closers := len(g.App.closers)
	for i := range 50 {
		// Each reload replaces anthropic-hk (its retry setting flips), so
		// each retires a provider with connections.
		providers := slices.Clone(base.Providers)
		for j := range providers {
			if providers[j].Name == "anthropic-hk" {
				providers[j].Retry.MaxAttempts = 2 + i%2
			}
		}
		if err := g.App.Reload(withRoutes(base, providers, base.Routes...)); err != nil {
			t.Fatal(err)
		}
		if code, err := sendModel(g.HTTP, g.URL, "sim-1", false); err != nil || code != 200 {
			t.Fatalf("reload %d: status %d, %v", i, code, err)
		}
	}
	waitRetired(t, g.App, 0)
	g.App.reloads.mu.Lock()
	n := len(g.App.closers)
	g.App.reloads.mu.Unlock()
	if n != closers {
		t.Errorf("closers: %d after 50 reloads, %d before", n, closers)
	}
}

func TestReloadKeepsGenerationUntilStreamEnds(t *testing.T) {
	slow := config.Provider{Name: "slow", Type: config.TypeSimulator, Simulator: config.Simulator{FirstToken: 300 * time.Millisecond, TokensPerSecond: 50}}
	g := newGateway(t, func(c *config.Config) {
		c.Providers = append(c.Providers, slow)
		c.Routes = append(c.Routes, config.Route{Match: "slow-1", Targets: []config.Target{{Provider: "slow"}}})
	})
	base := g.App.current().cfg
	first := g.App.current()
	done := sendAsync(g, "slow-1", true)
	deadline := time.Now().Add(5 * time.Second)
	for first.server.InFlight() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if err := g.App.Reload(withRoutes(base, nil, append(slices.Clone(base.Routes), simRoute("extra-1"))...)); err != nil {
		t.Fatal(err)
	}
	// A second reload with no request on the generation it replaces.
	if err := g.App.Reload(withRoutes(base, nil, append(slices.Clone(base.Routes), simRoute("extra-2"))...)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the stream ended before the check: %v", err)
	default:
	}
	g.App.reloads.mu.Lock()
	retired := slices.Clone(g.App.reloads.retired)
	g.App.reloads.mu.Unlock()
	if len(retired) != 1 || retired[0] != first {
		t.Fatalf("retired: %d generations (want only the first, which streams)", len(retired))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitRetired(t, g.App, 0)
}

func TestReloadCarriesUnchangedCanarySplit(t *testing.T) {
	canaryRoute := config.Route{Match: "split-1", Targets: []config.Target{
		{Provider: "sim", Weight: 90},
		{Provider: "anthropic-hk", Weight: 10, Canary: true},
	}}
	g := newGateway(t, func(c *config.Config) { c.Routes = append(c.Routes, canaryRoute) })
	base := g.App.current().cfg
	weights := func() []int {
		s, ok := g.App.current().relay.Split("split-1")
		if !ok {
			t.Fatal("no split for split-1")
		}
		return s.Weights()
	}
	s, _ := g.App.current().relay.Split("split-1")
	if err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	if w := weights(); !slices.Equal(w, []int{0, 10}) {
		t.Fatalf("promoted weights %v", w)
	}

	// Another route changes; split-1 does not: it stays promoted.
	if err := g.App.Reload(withRoutes(base, nil, append(slices.Clone(base.Routes), simRoute("extra-1"))...)); err != nil {
		t.Fatal(err)
	}
	if w := weights(); !slices.Equal(w, []int{0, 10}) {
		t.Errorf("after an unrelated reload: weights %v, want the promoted [0 10]", w)
	}
	s2, _ := g.App.current().relay.Split("split-1")
	if s2 == s {
		t.Fatal("the reload kept the old split object")
	}
	if snap := s2.Snapshot(); snap.LastEvent == nil || snap.LastEvent.Action != "promote" {
		t.Errorf("last event not carried: %+v", snap.LastEvent)
	}

	// Its weights change: it starts from the new configured weights.
	changed := canaryRoute
	changed.Targets = slices.Clone(canaryRoute.Targets)
	changed.Targets[0].Weight, changed.Targets[1].Weight = 80, 20
	routes := slices.Clone(base.Routes)
	for i := range routes {
		if routes[i].Match == "split-1" {
			routes[i] = changed
		}
	}
	if err := g.App.Reload(withRoutes(base, nil, routes...)); err != nil {
		t.Fatal(err)
	}
	if w := weights(); !slices.Equal(w, []int{80, 20}) {
		t.Errorf("after a weight change: weights %v, want the configured [80 20]", w)
	}
}
