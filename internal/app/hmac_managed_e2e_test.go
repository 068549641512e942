package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/testkit"
	"github.com/ferrygw/ferry/internal/usage"
)

const testMasterSecret = "master-0123456789abcdef0123456789abcdef"

// signedReq is a request signed at `at`.
type signedReq struct {
	keyID, secret string
	at            time.Time
	body          []byte
}

// header is the request's headers, with no key (rawPost's is blanked).
func (s signedReq) header() map[string]string {
	ts := strconv.FormatInt(s.at.Unix(), 10)
	return map[string]string{
		"X-Api-Key":          "",
		auth.HeaderKeyID:     s.keyID,
		auth.HeaderTimestamp: ts,
		auth.HeaderSignature: auth.Sign([]byte(s.secret), ts, http.MethodPost, "/v1/messages", s.body),
	}
}

func sendSigned(t *testing.T, g *gateway, hdr map[string]string, body []byte) (int, string) {
	t.Helper()
	resp, out := g.rawPost(t, "/v1/messages", string(body), hdr)
	return resp.StatusCode, string(out)
}

var signedSeq atomic.Int64

// freshBody is a messages request no earlier call signed.
func freshBody() []byte {
	b, _ := json.Marshal(simBody("sim-1"))
	return bytes.Replace(b, []byte(`"hi"`), []byte(`"hi `+strconv.FormatInt(signedSeq.Add(1), 10)+" "+time.Now().String()+`"`), 1)
}

// signed sends a fresh request signed with secret at now+skew.
func signed(t *testing.T, g *gateway, keyID, secret string, skew time.Duration) (int, string) {
	t.Helper()
	r := signedReq{keyID: keyID, secret: secret, at: time.Now().Add(skew), body: freshBody()}
	return sendSigned(t, g, r.header(), r.body)
}

// TestManagedKeySignsAcrossGatewaysE2E: two gateways share PostgreSQL
// and Redis. A managed key created with a signing secret through one signs
// requests to both, as itself (name, scopes, limits); a signature used on
// one is refused on the other; skew is ±5 minutes; a rotation's grace
// covers the old signing secret, and a revocation ends every secret.
func TestManagedKeySignsAcrossGatewaysE2E(t *testing.T) {
	_, prefix := testkit.Redis(t)
	u := storetest.PostgresURL(t)
	shared := func(c *config.Config) {
		c.Redis.Addr, c.Redis.Prefix = testkit.RedisAddr, prefix
		c.RateLimits.Backend = config.BackendRedis
		c.HMAC.MasterSecret = testMasterSecret
	}
	a, b := keysGateway(t, u, shared), keysGateway(t, u, shared)
	admin := "http://" + a.App.AdminAddr()
	name := "svc-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": name, "signing": true,
		"limits": map[string]any{"requests_per_minute": 8}})
	if st != 201 {
		t.Fatalf("create: %d %v", st, k)
	}
	id, _ := k["id"].(string)
	secret, _ := k["signing_secret"].(string)
	if !strings.HasPrefix(secret, auth.SigningPrefix) || k["signing"] != true {
		t.Fatalf("create answered %v", k)
	}
	if _, shown := call(t, "GET", admin+"/admin/keys/"+name, testAdminKey, nil); shown["signing_secret"] != nil || shown["signing"] != true {
		t.Errorf("GET shows %v", shown)
	}

	if code, out := signed(t, a, id, secret, 0); code != 200 {
		t.Fatalf("signed on the creating gateway: %d %s", code, out)
	}
	waitUntil(t, func() bool { code, _ := signed(t, b, id, secret, 0); return code == 200 })

	// One signature, two gateways: the second refuses it through Redis.
	r := signedReq{keyID: id, secret: secret, at: time.Now(), body: freshBody()}
	if code, out := sendSigned(t, a, r.header(), r.body); code != 200 {
		t.Fatalf("first use: %d %s", code, out)
	}
	if code, out := sendSigned(t, b, r.header(), r.body); code != 401 || !strings.Contains(out, "already used") {
		t.Errorf("replay on the other gateway: %d %s", code, out)
	}

	for _, c := range []struct {
		skew time.Duration
		want int
	}{{-4*time.Minute - 50*time.Second, 200}, {4*time.Minute + 50*time.Second, 200}, {-6 * time.Minute, 401}, {6 * time.Minute, 401}} {
		if code, out := signed(t, a, id, secret, c.skew); code != c.want {
			t.Errorf("skew %v: %d %s, want %d", c.skew, code, out, c.want)
		}
	}
	// The key's own limit (8 a minute) counts signed requests, on both
	// gateways: 5 passed (and 2 skewed refused before the limit).
	limited := false
	for range 4 {
		if code, _ := signed(t, b, id, secret, 0); code == http.StatusTooManyRequests {
			limited = true
		}
	}
	if !limited {
		t.Error("the key's requests_per_minute did not limit its signed requests")
	}
	if !strings.Contains(a.Logs.String(), `"key":"`+name+`"`) || !strings.Contains(b.Logs.String(), `"key":"`+name+`"`) {
		t.Error("the access logs do not name the managed key")
	}
	for _, g := range []*gateway{a, b} {
		if strings.Contains(g.Logs.String(), secret) || strings.Contains(g.Logs.String(), testMasterSecret) {
			t.Error("a signing or master secret leaked into the logs")
		}
	}

	// Rotation: the old signing secret works through the grace; with 0s
	// it stops at once.
	call(t, "PATCH", admin+"/admin/keys/"+name, testAdminKey, map[string]any{"limits": map[string]any{}})
	st, rot := call(t, "POST", admin+"/admin/keys/"+name+"/rotate", testAdminKey, map[string]any{"grace": "1h"})
	fresh, _ := rot["signing_secret"].(string)
	if st != 200 || fresh == "" || fresh == secret {
		t.Fatalf("rotate: %d %v", st, rot)
	}
	waitUntil(t, func() bool { code, _ := signed(t, b, id, fresh, 0); return code == 200 })
	if code, out := signed(t, b, id, secret, 0); code != 200 {
		t.Errorf("old signing secret in the grace: %d %s", code, out)
	}
	st, rot = call(t, "POST", admin+"/admin/keys/"+name+"/rotate", testAdminKey, map[string]any{"grace": "0s"})
	newest, _ := rot["signing_secret"].(string)
	if st != 200 || newest == "" {
		t.Fatalf("rotate without grace: %d %v", st, rot)
	}
	waitUntil(t, func() bool { code, _ := signed(t, b, id, newest, 0); return code == 200 })
	for _, old := range []string{secret, fresh} {
		if code, out := signed(t, b, id, old, 0); code != 401 || !strings.Contains(out, "invalid request signature") {
			t.Errorf("a signing secret rotated without grace: %d %s", code, out)
		}
	}

	// Revocation through one gateway ends signing on the other.
	call(t, "POST", admin+"/admin/keys/"+name+"/revoke", testAdminKey, nil)
	waitUntil(t, func() bool {
		code, out := signed(t, b, id, newest, 0)
		return code == 401 && strings.Contains(out, "revoked")
	})
}

// TestManagedSigningScopeAndMaster: a signing key's route scope holds for
// signed requests; without hmac.master_secret a signing key is refused
// with the reason, and a plain key is still made.
func TestManagedSigningScopeAndMaster(t *testing.T) {
	g := keysGateway(t, "", func(c *config.Config) { c.HMAC.MasterSecret = testMasterSecret })
	admin := "http://" + g.App.AdminAddr()
	st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "counter", "signing": true, "routes": []string{"count_tokens"}})
	if st != 201 {
		t.Fatalf("create: %d %v", st, k)
	}
	if code, out := signed(t, g, k["id"].(string), k["signing_secret"].(string), 0); code != 403 || !strings.Contains(out, "permission_error") {
		t.Errorf("signed request outside the key's routes: %d %s", code, out)
	}

	plain := keysGateway(t, "")
	admin = "http://" + plain.App.AdminAddr()
	st, body := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "svc", "signing": true})
	if typ, msg := errType(body); st != 400 || typ != "invalid_request_error" || !strings.Contains(msg, "hmac.master_secret") {
		t.Errorf("signing without a master secret: %d %s %q", st, typ, msg)
	}
	if st, _ := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "svc"}); st != 201 {
		t.Errorf("a plain key after the refusal: %d", st)
	}
	if st, body := call(t, "POST", admin+"/admin/keys/svc/rotate", testAdminKey, map[string]any{"signing": true}); st != 400 {
		t.Errorf("rotate to signing without a master secret: %d %v", st, body)
	}
}

// TestManagedSigningLedger: a signed request is the key's in the usage
// ledger, as its bearer request is (name and team).
func TestManagedSigningLedger(t *testing.T) {
	st := storetest.SQLite(t, usage.Schema)
	g := keysGatewayOpts(t, Options{Store: st}, "", func(c *config.Config) { c.HMAC.MasterSecret = testMasterSecret })
	_, k := call(t, "POST", "http://"+g.App.AdminAddr()+"/admin/keys", testAdminKey, map[string]any{"name": "ledgered", "team": "billing", "signing": true})
	if code, out := signed(t, g, k["id"].(string), k["signing_secret"].(string), 0); code != 200 {
		t.Fatalf("signed: %d %s", code, out)
	}
	if code, out := call(t, "POST", g.URL+"/v1/messages", k["key"].(string), simBody("sim-1")); code != 200 {
		t.Fatalf("bearer: %d %v", code, out)
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	var rows int
	st.QueryRow(context.Background(), nil, `SELECT COUNT(*) FROM usage_ledger WHERE key_name = 'ledgered' AND team = 'billing' AND status = 200`).Scan(&rows)
	if rows != 2 {
		t.Errorf("ledger rows of the key: %d, want 2 (signed and bearer)", rows)
	}
}

// TestManagedSigningMasterSecretReload: hmac.master_secret needs a
// restart (the key store derives the signing secrets it hands out from the
// one it opened with): a reload that changes it is refused, naming it, and
// the key's signing secret keeps working.
func TestManagedSigningMasterSecretReload(t *testing.T) {
	g := keysGateway(t, "", func(c *config.Config) { c.HMAC.MasterSecret = testMasterSecret })
	admin := "http://" + g.App.AdminAddr()
	st, k := call(t, "POST", admin+"/admin/keys", testAdminKey, map[string]any{"name": "svc", "signing": true})
	if st != 201 {
		t.Fatalf("create: %d %v", st, k)
	}
	id, secret := k["id"].(string), k["signing_secret"].(string)
	c := *g.App.current().cfg
	c.HMAC.MasterSecret = "another-master-0123456789abcdef01234567"
	if err := g.App.Reload(&c); err == nil || !strings.Contains(err.Error(), "hmac.master_secret") {
		t.Errorf("reload changing hmac.master_secret: %v, want a refusal naming it", err)
	}
	if code, out := signed(t, g, id, secret, 0); code != 200 {
		t.Errorf("the signing secret after the refused reload: %d %s", code, out)
	}
	st, k = call(t, "POST", admin+"/admin/keys/svc/rotate", testAdminKey, map[string]any{"grace": "0s"})
	if st != 200 {
		t.Fatalf("rotate: %d %v", st, k)
	}
	if code, out := signed(t, g, id, k["signing_secret"].(string), 0); code != 200 {
		t.Errorf("the rotated signing secret: %d %s", code, out)
	}
}
