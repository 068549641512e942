package keys_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/keys"
	"github.com/ferrygw/ferry/internal/store"
	"github.com/ferrygw/ferry/internal/store/storetest"
)

const testMaster = "master-0123456789abcdef0123456789abcdef"

// signer verifies signed requests against a cache of managed keys, as the
// gateway does.
type signer struct {
	t     *testing.T
	h     *auth.HMAC
	clk   *clock
	cache *keys.Cache
	n     int
}

func newSigner(t *testing.T, repo *keys.Repo, clk *clock) *signer {
	t.Helper()
	cache := keys.NewCache(repo, nil)
	h, err := auth.NewHMAC(auth.HMACOptions{Config: config.HMAC{MasterSecret: testMaster, Skew: 5 * time.Minute},
		Signers: cache, Now: clk.Now})
	if err != nil || h == nil {
		t.Fatalf("NewHMAC: %v %v", h, err)
	}
	return &signer{t: t, h: h, clk: clk, cache: cache}
}

// verify refreshes the cache and checks a fresh request signed by keyID
// with secret, made at the clock's time plus skew.
func (s *signer) verify(keyID, secret string, skew time.Duration) (*auth.Identity, error) {
	s.t.Helper()
	if err := s.cache.Refresh(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	s.n++
	body := []byte(`{"n":` + strconv.Itoa(s.n) + `}`) // a new signature each time: no replay
	ts := strconv.FormatInt(s.clk.Now().Add(skew).Unix(), 10)
	h := http.Header{}
	h.Set(auth.HeaderKeyID, keyID)
	h.Set(auth.HeaderTimestamp, ts)
	h.Set(auth.HeaderSignature, auth.Sign([]byte(secret), ts, "POST", "/v1/messages", body))
	return s.h.Verify(context.Background(), "POST", "/v1/messages", h, body)
}

func TestSigningKeys(t *testing.T) {
	ctx := context.Background()
	storetest.Both(t, func(t *testing.T, st *store.Store) {
		clk := newClock()
		repo := keys.NewRepo(st, clk.Now)
		var inv *keys.InvalidError
		if _, _, err := repo.Create(ctx, keys.Spec{Name: ptr("early"), Signing: ptr(true)}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "hmac.master_secret") {
			t.Fatalf("signing without a master secret: %v", err)
		}
		repo.SignWith([]byte(testMaster))
		s := newSigner(t, repo, clk)

		k, bearer, err := repo.Create(ctx, keys.Spec{Name: ptr("svc"), Team: ptr("billing"), Signing: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		sec := k.SigningSecret
		if !k.Signing || !strings.HasPrefix(sec, auth.SigningPrefix) || len(sec) != len(auth.SigningPrefix)+43 {
			t.Fatalf("signing key: %+v", k)
		}
		id, err := s.verify(k.ID, sec, 0)
		if err != nil || id.Name != "svc" || id.Team != "billing" {
			t.Fatalf("signed: %v %+v", err, id)
		}
		for _, skew := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
			if _, err := s.verify(k.ID, sec, skew); err != nil {
				t.Errorf("skew %v: %v", skew, err)
			}
		}
		for _, skew := range []time.Duration{-5*time.Minute - time.Second, 5*time.Minute + time.Second} {
			if _, err := s.verify(k.ID, sec, skew); !errors.Is(err, auth.ErrSkew) {
				t.Errorf("skew %v: %v, want ErrSkew", skew, err)
			}
		}
		if _, err := s.verify(k.Name, sec, 0); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("by name instead of id: %v", err)
		}
		if _, err := s.verify(k.ID, bearer, 0); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("signed with the bearer key: %v", err)
		}

		// Nothing that signs is stored, and reading the key back shows
		// no signing secret.
		var n int
		st.QueryRow(ctx, nil, `SELECT COUNT(*) FROM gateway_keys WHERE sign_salt = ? OR prev_sign_salt = ? OR hash = ?`, sec, sec, sec).Scan(&n)
		got, _ := repo.Get(ctx, "svc")
		if n != 0 || got.SigningSecret != "" || !got.Signing {
			t.Errorf("stored: %d rows; read back %+v", n, got)
		}
		if _, err := repo.Update(ctx, "svc", keys.Spec{Signing: ptr(true)}); !errors.As(err, &inv) {
			t.Errorf("update to signing: %v", err)
		}

		// A rotation with grace: both secrets sign until it ends.
		k2, _, err := repo.Rotate(ctx, "svc", time.Hour, false)
		if err != nil || k2.SigningSecret == "" || k2.SigningSecret == sec {
			t.Fatalf("rotate: %v %q", err, k2.SigningSecret)
		}
		for _, secret := range []string{sec, k2.SigningSecret} {
			if _, err := s.verify(k.ID, secret, 0); err != nil {
				t.Errorf("in the grace: %v", err)
			}
		}
		clk.Advance(time.Hour)
		if _, err := s.verify(k.ID, sec, 0); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("old secret after the grace: %v", err)
		}
		if _, err := s.verify(k.ID, k2.SigningSecret, 0); err != nil {
			t.Errorf("new secret after the grace: %v", err)
		}
		// Without grace, the old secret stops at once.
		k3, _, err := repo.Rotate(ctx, "svc", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.verify(k.ID, k2.SigningSecret, 0); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("old secret, no grace: %v", err)
		}
		// Disabled, expired, revoked: refused with the reason.
		repo.Update(ctx, "svc", keys.Spec{Enabled: ptr(false)})
		if _, err := s.verify(k.ID, k3.SigningSecret, 0); err == nil || !strings.Contains(err.Error(), "disabled") {
			t.Errorf("disabled: %v", err)
		}
		repo.Update(ctx, "svc", keys.Spec{Enabled: ptr(true), ExpiresAt: ptr(clk.Now().Add(-time.Second).Format(time.RFC3339))})
		if _, err := s.verify(k.ID, k3.SigningSecret, 0); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired: %v", err)
		}
		repo.Update(ctx, "svc", keys.Spec{ExpiresAt: ptr("")})
		if _, err := s.verify(k.ID, k3.SigningSecret, 0); err != nil {
			t.Errorf("expiry cleared: %v", err)
		}
		repo.Revoke(ctx, "svc")
		if _, err := s.verify(k.ID, k3.SigningSecret, 0); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("revoked: %v", err)
		}

		// A key without signing gets it with a rotation, and loses it
		// with an update.
		plain, _, err := repo.Create(ctx, keys.Spec{Name: ptr("plain")})
		if err != nil || plain.Signing || plain.SigningSecret != "" {
			t.Fatalf("plain key: %v %+v", err, plain)
		}
		p2, _, err := repo.Rotate(ctx, "plain", time.Hour, true)
		if err != nil || !p2.Signing {
			t.Fatalf("rotate to signing: %v %+v", err, p2)
		}
		if _, err := s.verify(plain.ID, p2.SigningSecret, 0); err != nil {
			t.Errorf("signing after the rotation: %v", err)
		}
		if p3, err := repo.Update(ctx, "plain", keys.Spec{Signing: ptr(false)}); err != nil || p3.Signing {
			t.Fatalf("signing off: %v %+v", err, p3)
		}
		if _, err := s.verify(plain.ID, p2.SigningSecret, 0); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("signing off: %v", err)
		}
	}, keys.Schema())
}
