package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /debug/pprof is on the admin listener, behind the admin token.
func TestPprofBehindAdminToken(t *testing.T) {
	g := newAdminGateway(t)
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		for _, tok := range []string{"", "wrong"} {
			if code, _ := g.do(t, "GET", path, tok); code != http.StatusUnauthorized {
				t.Errorf("%s with token %q: status %d, want 401", path, tok, code)
			}
		}
	}
	code, b := g.do(t, "GET", "/debug/pprof/", adminToken)
	if code != 200 || !strings.Contains(string(b), "goroutine") || !strings.Contains(string(b), "allocs") {
		t.Errorf("/debug/pprof/ with the token: %d %.200s", code, b)
	}
	if code, b := g.do(t, "GET", "/debug/pprof/goroutine?debug=1", adminToken); code != 200 || !strings.Contains(string(b), "goroutine profile:") {
		t.Errorf("goroutine profile: %d %.200s", code, b)
	}
	// Not on the public listener.
	resp, err := g.HTTP.Get(g.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("/debug/pprof/ answered on the public listener")
	}
}

// Without an admin token or admin key (loopback only, which the config
// enforces) the profiles are open, like the rest of the admin listener.
func TestPprofWithoutToken(t *testing.T) {
	g := newGateway(t)
	srv := httptest.NewServer(g.App.adminHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
}
