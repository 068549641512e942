package check

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

// upstream answers like a vendor: 200 to a request with the right key in
// the right header on the right path, else what the handler says.
func upstream(path, header, value string, other func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path && r.Header.Get(header) == value {
			w.Write([]byte(`{"id":"msg_1","type":"message"}`))
			return
		}
		if other != nil {
			other(w, r)
			return
		}
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		http.Error(w, `{"error":{"message":"invalid api key"}}`, http.StatusUnauthorized)
	}
}

func status(code int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, body, code) }
}

func testOptions(pool *x509.CertPool) Options {
	return Options{
		Timeout: 2 * time.Second,
		RootCAs: pool,
		Proxy:   func(*http.Request) (*url.URL, error) { return nil, nil }, // never the environment's
		Lookup: func(_ context.Context, host string) ([]string, error) {
			if host == "nohost.test" {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return []string{host}, nil
		},
	}
}

func oneRoute(p config.Provider, model string) *config.Config {
	return &config.Config{
		Providers: []config.Provider{p},
		Routes:    []config.Route{{Match: "m", Targets: []config.Target{{Provider: p.Name, Model: model}}}},
	}
}

func TestRunHealthyNode(t *testing.T) {
	srv := httptest.NewTLSServer(upstream("/v1/messages", "x-api-key", "sk-ant-good", nil))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := oneRoute(config.Provider{Name: "anthropic", Type: config.TypeAnthropic, BaseURLs: []string{srv.URL}, APIKey: "sk-ant-good", Auth: config.AuthXAPIKey}, "claude-x")

	rs := Run(context.Background(), cfg, testOptions(pool))
	var steps []string
	for _, r := range rs {
		steps = append(steps, r.Step)
		if !r.OK {
			t.Errorf("%s failed: %s (%s)", r.Step, r.Cause, r.Detail)
		}
	}
	if got, want := strings.Join(steps, ","), "dns,tcp,tls,request"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if Failed(rs) {
		t.Error("Failed = true for a healthy node")
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "request  anthropic") || strings.Contains(buf.String(), "FAIL") || strings.Contains(buf.String(), "sk-ant-good") {
		t.Errorf("table:\n%s", buf.String())
	}
}

// TestRunNamesEachCause runs against a loopback fake that fails in each way
// the check names and asserts the named cause.
func TestRunNamesEachCause(t *testing.T) {
	plain := func(h http.Handler) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(untrusted.Close)
	anth := func(base, key, auth string) config.Provider {
		return config.Provider{Name: "relay", Type: config.TypeAnthropic, BaseURLs: []string{base}, APIKey: config.Secret(key), Auth: auth}
	}
	bearerOnly := upstream("/v1/messages", "Authorization", "Bearer k-1", nil)
	tests := []struct {
		name      string
		provider  config.Provider
		model     string
		wantStep  string
		wantCause string
	}{
		{"dns", anth("https://nohost.test", "k", ""), "m", StepDNS, "host not found"},
		{"tcp refused", anth("http://"+testkit.ClosedAddr(t), "k", ""), "m", StepTCP, "connection refused"},
		{"tls to a plain port", anth(strings.Replace(plain(bearerOnly), "http:", "https:", 1), "k", ""), "m", StepTLS, "TLS handshake failed"},
		{"tls unknown authority", anth(untrusted.URL, "k", ""), "m", StepTLS, "unknown authority"},
		{"wrong key prefix", config.Provider{Name: "ds", Type: config.TypeOpenAI, Profile: "deepseek", BaseURLs: []string{plain(upstream("/chat/completions", "Authorization", "Bearer sk-1", nil))}, APIKey: "zp.1"},
			"deepseek-chat", StepRequest, "wrong key prefix"},
		{"wrong auth header", anth(plain(bearerOnly), "k-1", config.AuthXAPIKey), "m", StepRequest, "wrong auth header: this upstream accepts the key with auth: bearer"},
		{"bad key", anth(plain(bearerOnly), "k-2", config.AuthBearer), "m", StepRequest, "authentication failed"},
		{"wrong base path", anth(plain(bearerOnly)+"/v1", "k-1", config.AuthBearer), "m", StepRequest, "wrong base path"},
		{"model not found", anth(plain(upstream("/v1/messages", "x-api-key", "never", status(404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}`))), "k", ""),
			"claude-nope", StepRequest, "model not found"},
		{"region blocked", anth(plain(upstream("/v1/messages", "x-api-key", "never", status(403, `{"error":{"type":"forbidden","message":"Request not allowed: unsupported country, region, or territory"}}`))), "k", ""),
			"m", StepRequest, "region blocked"},
		{"proxy needed", anth(plain(upstream("/v1/messages", "x-api-key", "never", status(407, "Proxy Authentication Required"))), "k", ""),
			"m", StepRequest, "proxy needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := Run(context.Background(), oneRoute(tt.provider, tt.model), testOptions(nil))
			if !Failed(rs) {
				t.Fatalf("Failed = false; results %+v", rs)
			}
			var failed *Result
			for i := range rs {
				if !rs[i].OK && !rs[i].Skipped {
					failed = &rs[i]
					break
				}
			}
			if failed.Step != tt.wantStep || !strings.Contains(failed.Cause, tt.wantCause) {
				t.Errorf("first failure: step %s cause %q (%s); want step %s cause containing %q", failed.Step, failed.Cause, failed.Detail, tt.wantStep, tt.wantCause)
			}
			if strings.Contains(failed.Detail, string(tt.provider.APIKey)+"\"") {
				t.Errorf("detail echoes the key: %s", failed.Detail)
			}
		})
	}
}

// TestRunEveryTarget checks the trait rules' targets and the shadow too,
// with the target's headers added to the provider's.
func TestRunEveryTarget(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Model string }
		json.NewDecoder(r.Body).Decode(&body)
		seen = append(seen, body.Model+" "+r.Header.Get("X-Relay")+r.Header.Get("X-Biz"))
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "relay", Type: config.TypeAnthropic, BaseURLs: []string{srv.URL}, APIKey: "k", Headers: map[string]string{"X-Relay": "r"}}},
		Routes: []config.Route{{
			Match:   "claude-*",
			When:    []config.RouteRule{{Targets: []config.Target{{Provider: "relay", Model: "thinker", Headers: map[string]string{"X-Biz": "b"}}}}},
			Targets: []config.Target{{Provider: "relay", Model: "main"}},
			Shadow:  config.RouteShadow{Provider: "relay", Model: "candidate"},
		}},
	}
	rs := Run(context.Background(), cfg, testOptions(nil))
	if Failed(rs) {
		t.Fatalf("failed: %+v", rs)
	}
	if got, want := strings.Join(seen, ","), "thinker rb,main r,candidate r"; got != want {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestRunSkips(t *testing.T) {
	cfg := &config.Config{
		Providers: []config.Provider{
			{Name: "sim", Type: config.TypeSimulator},
			{Name: "gone", Type: config.TypeAnthropic, BaseURLs: []string{"https://nohost.test"}},
		},
		Routes: []config.Route{
			{Match: "claude-*", Targets: []config.Target{{Provider: "gone"}}},
			{Match: "claude-x", Targets: []config.Target{{Provider: "gone"}, {Provider: "sim"}}},
		},
	}
	rs := Run(context.Background(), cfg, testOptions(nil))
	got, _ := json.Marshal(rs)
	var skipped []string
	for _, r := range rs {
		if r.Skipped {
			skipped = append(skipped, r.Route)
		}
	}
	if strings.Join(skipped, ",") != "claude-*,claude-x" {
		t.Errorf("skipped routes %v, want the pattern route (no model) and the unreachable one; results %s", skipped, got)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestConnectCause covers the causes no loopback fake can produce: a
// resolver that cannot be reached and a connection a firewall drops.
func TestConnectCause(t *testing.T) {
	tests := []struct {
		step string
		err  error
		want string
	}{
		{StepDNS, &net.DNSError{Err: "server misbehaving", Name: "api.anthropic.com", IsTemporary: true}, "proxy needed"},
		{StepTCP, &net.OpError{Op: "dial", Err: timeoutErr{}}, "proxy needed"},
		{StepTCP, context.DeadlineExceeded, "proxy needed"},
	}
	for _, tt := range tests {
		if got := connectCause(tt.step, tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("connectCause(%s, %v) = %q, want it to say %q", tt.step, tt.err, got, tt.want)
		}
	}
	if got := requestErrCause(&url.Error{Op: "Post", Err: timeoutErr{}}); !strings.Contains(got, "proxy needed") {
		t.Errorf("request timeout cause %q", got)
	}
}
