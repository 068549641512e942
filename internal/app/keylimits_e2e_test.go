package app

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/testkit"
)

// TestManagedKeyOwnRPM: a managed key's own rpm is enforced with no
// rate_limits rules configured: the 4th request in the minute is a 429
// rate_limit_error with retry-after, on one gateway and across two sharing
// Redis (and PostgreSQL for the keys).
func TestManagedKeyOwnRPM(t *testing.T) {
	t.Run("one gateway", func(t *testing.T) {
		g := keysGateway(t, "")
		secret := createLimitedKey(t, g, "rpm3")
		ownRPMCheck(t, secret, g.URL, g.URL)
	})
	t.Run("two gateways sharing redis", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		_, prefix := testkit.Redis(t)
		shared := func(c *config.Config) {
			c.Redis.Addr, c.Redis.Prefix = "127.0.0.1:6379", prefix
			c.RateLimits.Backend = config.BackendRedis
		}
		a, b := keysGatewayWith(t, u, shared), keysGatewayWith(t, u, shared)
		secret := createLimitedKey(t, a, "rpm3-shared")
		waitUntil(t, func() bool { // b's key cache has the key
			st, _ := call(t, "GET", b.URL+"/v1/models", secret, nil)
			return st == 200
		})
		ownRPMCheck(t, secret, a.URL, b.URL)
	})
}

func createLimitedKey(t *testing.T, g *gateway, name string) string {
	t.Helper()
	st, k := call(t, "POST", "http://"+g.App.AdminAddr()+"/admin/keys", testAdminKey, map[string]any{
		"name": name, "limits": map[string]any{"requests_per_minute": 3}})
	secret, _ := k["key"].(string)
	if st != 201 || secret == "" {
		t.Fatalf("create: %d %v", st, k)
	}
	return secret
}

// ownRPMCheck sends three requests (alternating gateways), then a fourth.
func ownRPMCheck(t *testing.T, secret, urlA, urlB string) {
	t.Helper()
	for i, u := range []string{urlA, urlB, urlA} {
		if st, body := call(t, "POST", u+"/v1/messages", secret, simBody("sim-1")); st != 200 {
			t.Fatalf("request %d: %d %v", i+1, st, body)
		}
	}
	req, _ := http.NewRequest("POST", urlB+"/v1/messages", strings.NewReader(`{"model":"sim-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 {
		t.Fatalf("4th request: %d, want 429", res.StatusCode)
	}
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 61 {
		t.Errorf("retry-after %q, want 1..61 seconds", res.Header.Get("Retry-After"))
	}
	st, body := call(t, "POST", urlA+"/v1/messages", secret, simBody("sim-1"))
	if typ, msg := errType(body); st != 429 || typ != "rate_limit_error" || strings.Contains(msg, "rpm3") {
		t.Errorf("5th request: %d %s %q, want 429 rate_limit_error not naming the key", st, typ, msg)
	}
}

// keysGatewayWith is keysGateway with more config changes.
func keysGatewayWith(t *testing.T, pgURL string, mutate func(*config.Config)) *gateway {
	t.Helper()
	dir := t.TempDir()
	return newGateway(t, func(c *config.Config) {
		c.Admin.Listen = "127.0.0.1:0"
		c.AdminKey = testAdminKey
		c.DataDir = dir
		c.Store = config.Secret(pgURL)
		c.KeysRefresh = 100 * time.Millisecond
		mutate(c)
	})
}
