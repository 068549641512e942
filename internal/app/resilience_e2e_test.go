package app

// End-to-end tests of the resilience wiring through the Anthropic Go SDK
// (its own retries off): node failover with the headers that show it, the
// admin API and its token, and canary promote/rollback at runtime.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

const adminToken = "admin-t0ken-0123456789"

// closedPort returns a loopback URL whose port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func hostOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}

// newFake is a fake Anthropic upstream answering every request with
// message_tool_use.
func newFake(t *testing.T) *fakeupstream.Server {
	t.Helper()
	f := fakeupstream.New()
	t.Cleanup(f.Close)
	f.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, fixtures+"message_tool_use.txtar")})
	return f
}

// send makes one SDK call and returns the response headers.
func send(t *testing.T, c anthropic.Client, model string) (http.Header, error) {
	t.Helper()
	var resp *http.Response
	_, err := c.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: anthropic.Model(model), MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}, option.WithResponseInto(&resp))
	if resp == nil {
		return nil, err
	}
	return resp.Header, err
}

// TestNodeFailoverHeaders: the first node refuses connections; the second
// serves, and the response says which node and how many attempts. The
// refused node is then skipped (node_down).
func TestNodeFailoverHeaders(t *testing.T) {
	live := newFake(t)
	dead := closedPort(t)
	g := newGateway(t, func(c *config.Config) {
		c.Providers[0].BaseURLs = []string{dead, live.URL}
	})
	h, err := send(t, g.client(), "claude-opus-4-5")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Ferry-Node"); got != hostOf(live.URL) {
		t.Errorf("x-ferry-node %q, want %q", got, hostOf(live.URL))
	}
	if h.Get("X-Ferry-Provider") != "anthropic-hk" || h.Get("X-Ferry-Attempts") != "2" {
		t.Errorf("x-ferry-provider %q, x-ferry-attempts %q", h.Get("X-Ferry-Provider"), h.Get("X-Ferry-Attempts"))
	}
	want := `"attempts":["anthropic-hk@` + hostOf(dead) + `:connect_refused","anthropic-hk@` + hostOf(live.URL) + `:200"]`
	if !eventually(func() bool { return strings.Contains(g.Logs.String(), want) }) {
		t.Errorf("access log lacks %s:\n%s", want, g.Logs.String())
	}
	h, err = send(t, g.client(), "claude-opus-4-5")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Ferry-Attempts") != "1" || h.Get("X-Ferry-Node") != hostOf(live.URL) {
		t.Errorf("second request: node %q after %q attempts, want the live node at once", h.Get("X-Ferry-Node"), h.Get("X-Ferry-Attempts"))
	}
}

// eventually polls cond for up to a second: the access log line is written
// just after the response.
func eventually(cond func() bool) bool {
	for range 100 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// adminGateway has a weighted route with a canary (claude-*: primary and
// canary fakes), a plain route (sim-*), and the admin API with a token.
type adminGateway struct {
	*gateway
	primary, canary *fakeupstream.Server
	admin           string
}

func newAdminGateway(t *testing.T) *adminGateway {
	t.Helper()
	primary, canary := newFake(t), newFake(t)
	g := newGateway(t, func(c *config.Config) {
		c.Admin = config.Admin{Listen: "127.0.0.1:0", Token: adminToken}
		c.Providers = []config.Provider{
			{Name: "primary", Type: config.TypeAnthropic, BaseURLs: []string{primary.URL}, APIKey: providerKey},
			{Name: "canary", Type: config.TypeAnthropic, BaseURLs: []string{canary.URL}, APIKey: providerKey},
			{Name: "sim", Type: config.TypeSimulator},
		}
		c.Routes = []config.Route{
			{Match: "claude-*", Targets: []config.Target{{Provider: "primary", Weight: 90}, {Provider: "canary", Weight: 10, Canary: true}}},
			{Match: "sim-*", Targets: []config.Target{{Provider: "sim"}}},
		}
	})
	return &adminGateway{gateway: g, primary: primary, canary: canary, admin: "http://" + g.App.AdminAddr()}
}

func (g *adminGateway) do(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, g.admin+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAdminAPI(t *testing.T) {
	g := newAdminGateway(t)
	if _, err := send(t, g.client(), "claude-opus-4-5"); err != nil {
		t.Fatal(err)
	}

	// The token guards /admin/*, not /metrics.
	for _, tok := range []string{"", "wrong", adminToken + "x"} {
		if code, _ := g.do(t, "GET", "/admin/upstreams", tok); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", tok, code)
		}
	}
	if code, _ := g.do(t, "POST", "/admin/routes/claude-*/rollback", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("rollback with a wrong token: %d", code)
	}
	if code, b := g.do(t, "GET", "/metrics", ""); code != 200 || !strings.Contains(string(b), "ferry_upstream_attempts_total") {
		t.Errorf("/metrics: %d", code)
	}

	code, b := g.do(t, "GET", "/admin/upstreams", adminToken)
	var ups struct {
		Upstreams []struct {
			Provider string `json:"provider"`
			Policy   string `json:"policy"`
			Nodes    []struct {
				Label    string `json:"label"`
				State    string `json:"state"`
				Requests uint64 `json:"requests"`
			} `json:"nodes"`
		} `json:"upstreams"`
	}
	if err := json.Unmarshal(b, &ups); code != 200 || err != nil {
		t.Fatalf("upstreams: %d %v: %s", code, err, b)
	}
	if len(ups.Upstreams) != 3 || ups.Upstreams[0].Provider != "primary" || ups.Upstreams[2].Nodes[0].Label != "simulator" {
		t.Errorf("upstreams: %s", b)
	}
	served := ups.Upstreams[0].Nodes[0].Requests + ups.Upstreams[1].Nodes[0].Requests
	if served != 1 || ups.Upstreams[0].Nodes[0].State != "closed" || ups.Upstreams[0].Nodes[0].Label != hostOf(g.primary.URL) {
		t.Errorf("upstreams after one request: %s", b)
	}

	code, b = g.do(t, "GET", "/admin/routes", adminToken)
	var rts struct {
		Routes []struct {
			Route   string `json:"route"`
			Targets []struct {
				Name   string `json:"name"`
				Weight int    `json:"weight"`
				Canary bool   `json:"canary"`
			} `json:"targets"`
		} `json:"routes"`
	}
	if err := json.Unmarshal(b, &rts); code != 200 || err != nil {
		t.Fatalf("routes: %d %v: %s", code, err, b)
	}
	if len(rts.Routes) != 1 || rts.Routes[0].Route != "claude-*" || rts.Routes[0].Targets[1].Weight != 10 || !rts.Routes[0].Targets[1].Canary {
		t.Errorf("routes: %s", b)
	}

	if code, _ := g.do(t, "POST", "/admin/routes/nope/promote", adminToken); code != http.StatusNotFound {
		t.Errorf("unknown route: %d, want 404", code)
	}
	if code, _ := g.do(t, "POST", "/admin/routes/sim-%2A/promote", adminToken); code != http.StatusConflict {
		t.Errorf("route without a canary: %d, want 409", code)
	}
	if code, _ := g.do(t, "GET", "/admin/routes/claude-%2A/promote", adminToken); code != http.StatusMethodNotAllowed {
		t.Errorf("GET promote: %d, want 405", code)
	}
}

// TestCanaryPromoteRollbackAtRuntime: rollback sends every request to the
// primary, promote every request to the canary, rollback back again.
func TestCanaryPromoteRollbackAtRuntime(t *testing.T) {
	g := newAdminGateway(t)
	c := g.client()
	served := func(want string) {
		t.Helper()
		for i := range 10 {
			h, err := send(t, c, "claude-opus-4-5")
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Get("X-Ferry-Provider"); got != want {
				t.Fatalf("request %d served by %q, want %q", i, got, want)
			}
		}
	}
	steps := []struct{ action, want, weights string }{
		{"rollback", "primary", `"weight": 0`},
		{"promote", "canary", `"weight": 10`},
		{"rollback", "primary", `"weight": 90`},
	}
	for _, s := range steps {
		code, b := g.do(t, "POST", "/admin/routes/claude-%2A/"+s.action, adminToken)
		if code != 200 || !strings.Contains(string(b), `"action": "`+s.action+`"`) || !strings.Contains(string(b), s.weights) {
			t.Fatalf("%s: %d %s", s.action, code, b)
		}
		served(s.want)
	}
	if !strings.Contains(g.Logs.String(), `"msg":"canary promote by the admin API"`) {
		t.Errorf("the promote was not logged")
	}
}

// TestHealthChecks: with health_check.interval set, a node whose check
// fails (its /v1/models answers 5xx) is not picked, and requests go to the
// healthy node at once; the checks stop with the gateway (TestMain's
// goleak holds every test to it).
func TestHealthChecks(t *testing.T) {
	sick := fakeupstream.New()
	t.Cleanup(sick.Close)
	sick.SetDefault(fakeupstream.Reply{Fixture: fakeupstream.MustLoad(t, fixtures+"error_529.txtar")})
	live := newFake(t)
	g := newGateway(t, func(c *config.Config) {
		c.Admin = config.Admin{Listen: "127.0.0.1:0"}
		c.Providers[0].BaseURLs = []string{sick.URL, live.URL}
		c.Providers[0].HealthCheck = config.HealthCheck{Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond}
	})
	// Wait for a round of checks to mark the sick node.
	probed := func(f *fakeupstream.Server) bool {
		for _, r := range f.Requests() {
			if r.Method == http.MethodGet && r.Path == "/v1/models" && r.Query == "limit=1" && r.Header.Get("X-Api-Key") == providerKey {
				return true
			}
		}
		return false
	}
	admin := "http://" + g.App.AdminAddr()
	if !eventually(func() bool {
		resp, err := g.HTTP.Get(admin + "/admin/upstreams")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return probed(sick) && probed(live) && strings.Contains(string(b), `"health": "failing"`)
	}) {
		t.Fatal("the sick node was never marked failing")
	}
	before := len(sick.Requests())
	for range 3 {
		h, err := send(t, g.client(), "claude-opus-4-5")
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("X-Ferry-Node") != hostOf(live.URL) || h.Get("X-Ferry-Attempts") != "1" {
			t.Errorf("served by %q after %q attempts, want the healthy node at once", h.Get("X-Ferry-Node"), h.Get("X-Ferry-Attempts"))
		}
	}
	for _, r := range sick.Requests()[before:] {
		if r.Method == http.MethodPost {
			t.Errorf("the failing node got a request: %s %s", r.Method, r.Path)
		}
	}
}
