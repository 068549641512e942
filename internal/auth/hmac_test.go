package auth

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/testkit"
)

const testHMACSecret = "0123456789abcdef0123456789abcdef"

func signedHeader(secret, keyID string, at time.Time, method, target string, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderKeyID, keyID)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign([]byte(secret), ts, method, target, body))
	return h
}

func newTestHMAC(t *testing.T, clock *testkit.Clock, r Replays) *HMAC {
	t.Helper()
	h, err := NewHMAC(HMACOptions{
		Config:  config.HMAC{Keys: []config.HMACKey{{ID: "billing", Secret: testHMACSecret}}, Skew: 5 * time.Minute},
		Replays: r,
		Now:     clock.Now,
	})
	if err != nil || h == nil {
		t.Fatalf("NewHMAC: %v, %v", h, err)
	}
	return h
}

func TestHMACVerify(t *testing.T) {
	body := []byte(`{"model":"m","max_tokens":1,"messages":[]}`)
	const target = "/v1/messages"
	tests := []struct {
		name string
		hdr  func(now time.Time) http.Header
		want error
	}{
		{"good", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now, "POST", target, body)
		}, nil},
		{"good at the edge of skew", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now.Add(-5*time.Minute), "POST", target, body)
		}, nil},
		{"wrong secret", func(now time.Time) http.Header {
			return signedHeader("fedcba9876543210fedcba9876543210", "billing", now, "POST", target, body)
		}, ErrSignature},
		{"unknown key id", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "other", now, "POST", target, body)
		}, ErrSignature},
		{"other path", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now, "POST", "/v1/chat/completions", body)
		}, ErrSignature},
		{"other method", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now, "GET", target, body)
		}, ErrSignature},
		{"other body", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now, "POST", target, []byte(`{}`))
		}, ErrSignature},
		{"skewed past", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now.Add(-5*time.Minute-time.Second), "POST", target, body)
		}, ErrSkew},
		{"skewed future", func(now time.Time) http.Header {
			return signedHeader(testHMACSecret, "billing", now.Add(5*time.Minute+time.Second), "POST", target, body)
		}, ErrSkew},
		{"missing timestamp", func(now time.Time) http.Header {
			h := signedHeader(testHMACSecret, "billing", now, "POST", target, body)
			h.Del(HeaderTimestamp)
			return h
		}, ErrSignatureMissing},
		{"not hex", func(now time.Time) http.Header {
			h := signedHeader(testHMACSecret, "billing", now, "POST", target, body)
			h.Set(HeaderSignature, "zz")
			return h
		}, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testkit.NewClock()
			h := newTestHMAC(t, clock, nil)
			id, err := h.Verify(context.Background(), "POST", target, tt.hdr(clock.Now()), body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if err == nil && (id == nil || id.Name != "billing" || id.Role != RoleUser) {
				t.Fatalf("identity = %+v, want billing, a user", id)
			}
		})
	}
}

func TestHMACReplayInMemory(t *testing.T) {
	clock := testkit.NewClock()
	h := newTestHMAC(t, clock, nil)
	hdr := signedHeader(testHMACSecret, "billing", clock.Now(), "POST", "/v1/messages", nil)
	if _, err := h.Verify(context.Background(), "POST", "/v1/messages", hdr, nil); err != nil {
		t.Fatalf("first use: %v", err)
	}
	clock.Advance(4 * time.Minute)
	if _, err := h.Verify(context.Background(), "POST", "/v1/messages", hdr, nil); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: err = %v, want ErrReplay", err)
	}
}

// Two gateway instances sharing Redis: a signature used on one is refused
// on the other.
func TestHMACReplayAcrossInstancesOnRedis(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	clock := testkit.NewClockAt(time.Now()) // Redis keeps the ttl on its own clock
	a := newTestHMAC(t, clock, NewRedisReplays(rdb, prefix, clock.Now))
	b := newTestHMAC(t, clock, NewRedisReplays(rdb, prefix, clock.Now))
	hdr := signedHeader(testHMACSecret, "billing", clock.Now(), "POST", "/v1/messages", []byte("x"))
	if _, err := a.Verify(context.Background(), "POST", "/v1/messages", hdr, []byte("x")); err != nil {
		t.Fatalf("instance a: %v", err)
	}
	if _, err := b.Verify(context.Background(), "POST", "/v1/messages", hdr, []byte("x")); !errors.Is(err, ErrReplay) {
		t.Fatalf("instance b: err = %v, want ErrReplay", err)
	}
	fresh := signedHeader(testHMACSecret, "billing", clock.Now().Add(time.Second), "POST", "/v1/messages", []byte("x"))
	if _, err := b.Verify(context.Background(), "POST", "/v1/messages", fresh, []byte("x")); err != nil {
		t.Fatalf("instance b, a new signature: %v", err)
	}
}

func TestMemoryReplaysForgetsAfterTTL(t *testing.T) {
	clock := testkit.NewClock()
	m := NewMemoryReplays(clock.Now)
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		if got, _ := m.FirstUse(ctx, "k", time.Minute); got != want {
			t.Fatalf("use %d: %v, want %v", i, got, want)
		}
	}
	clock.Advance(time.Minute)
	if got, _ := m.FirstUse(ctx, "k", time.Minute); !got {
		t.Fatal("after the ttl: still remembered")
	}
}

func FuzzHMACVerify(f *testing.F) {
	f.Add("billing", "1700000000", "00ff", []byte("{}"))
	f.Add("", "-1", "zz", []byte(nil))
	f.Fuzz(func(t *testing.T, keyID, ts, sig string, body []byte) {
		clock := testkit.NewClock()
		h := newTestHMAC(t, clock, nil)
		hdr := http.Header{}
		hdr.Set(HeaderKeyID, keyID)
		hdr.Set(HeaderTimestamp, ts)
		hdr.Set(HeaderSignature, sig)
		if id, err := h.Verify(context.Background(), "POST", "/v1/messages", hdr, body); err == nil || id != nil {
			t.Fatalf("an unsigned fuzz input was accepted: %+v %v", id, err)
		}
	})
}

// BenchmarkHMACVerify is one signed request's check: body hash, HMAC and
// the in-memory replay set.
func BenchmarkHMACVerify(b *testing.B) {
	clock := testkit.NewClock()
	h, err := NewHMAC(HMACOptions{Config: config.HMAC{Keys: []config.HMACKey{{ID: "billing", Secret: testHMACSecret}}, Skew: 5 * time.Minute}, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	hdrs := make([]http.Header, b.N) // a distinct body, and so signature, each
	for i := range hdrs {
		hdrs[i] = signedHeader(testHMACSecret, "billing", clock.Now(), "POST", "/v1/messages", []byte{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Verify(context.Background(), "POST", "/v1/messages", hdrs[i], []byte{byte(i), byte(i >> 8), byte(i >> 16)}); err != nil {
			b.Fatal(err)
		}
	}
}

// A managed key's signing secret depends on the master secret, the key id
// and the salt, each; a short master secret is refused; managed keys sign
// with only a master secret configured.
func TestSigningSecret(t *testing.T) {
	const master = "master-0123456789abcdef0123456789abcdef"
	base := SigningSecret([]byte(master), "key_1", "salt")
	if len(base) != len(SigningPrefix)+43 || base[:len(SigningPrefix)] != SigningPrefix || base != SigningSecret([]byte(master), "key_1", "salt") {
		t.Fatalf("SigningSecret = %q", base)
	}
	for _, other := range []string{
		SigningSecret([]byte(master+"x"), "key_1", "salt"),
		SigningSecret([]byte(master), "key_2", "salt"),
		SigningSecret([]byte(master), "key_1", "salt2"),
		SigningSecret([]byte(master), "key_1\nsalt", ""),
	} {
		if other == base {
			t.Errorf("%q: same secret from other inputs", other)
		}
	}
	signers := signersFunc(func(keyID string, _ time.Time) (*Identity, []string) {
		if keyID != "key_1" {
			return nil, nil
		}
		return &Identity{Name: "svc", Role: RoleUser, Enabled: true}, []string{"salt"}
	})
	if _, err := NewHMAC(HMACOptions{Config: config.HMAC{MasterSecret: "short"}, Signers: signers}); err == nil {
		t.Error("a short master secret was accepted")
	}
	if h, err := NewHMAC(HMACOptions{Config: config.HMAC{MasterSecret: master}}); h != nil || err != nil {
		t.Errorf("no signers: %v %v, want nil", h, err)
	}
	clock := testkit.NewClock()
	h, err := NewHMAC(HMACOptions{Config: config.HMAC{MasterSecret: master}, Signers: signers, Now: clock.Now})
	if err != nil || h == nil || !h.Open() {
		t.Fatalf("NewHMAC: %v %v", h, err)
	}
	body := []byte(`{}`)
	id, err := h.Verify(context.Background(), "POST", "/v1/messages", signedHeader(base, "key_1", clock.Now(), "POST", "/v1/messages", body), body)
	if err != nil || id.Name != "svc" {
		t.Errorf("managed signer: %v %+v", err, id)
	}
	if _, err := h.Verify(context.Background(), "POST", "/v1/messages", signedHeader(base, "key_2", clock.Now(), "POST", "/v1/messages", body), body); !errors.Is(err, ErrSignature) {
		t.Errorf("unknown managed key: %v", err)
	}
}

type signersFunc func(string, time.Time) (*Identity, []string)

func (f signersFunc) Signer(keyID string, now time.Time) (*Identity, []string) { return f(keyID, now) }

type alwaysFirst struct{}

func (alwaysFirst) FirstUse(context.Context, string, time.Duration) (bool, error) { return true, nil }

// BenchmarkVerify: a configured key against a managed one, whose secret
// is derived again on each request (one more HMAC), 2 KB body.
func BenchmarkVerify(b *testing.B) {
	const master = "master-0123456789abcdef0123456789abcdef"
	signers := signersFunc(func(keyID string, _ time.Time) (*Identity, []string) {
		return &Identity{Name: "svc", Role: RoleUser, Enabled: true}, []string{"salt"}
	})
	clock := testkit.NewClock()
	h, err := NewHMAC(HMACOptions{Config: config.HMAC{MasterSecret: master, Keys: []config.HMACKey{{ID: "billing", Secret: testHMACSecret}}},
		Signers: signers, Replays: alwaysFirst{}, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 2048)
	for _, c := range []struct{ name, id, secret string }{
		{"configured", "billing", testHMACSecret},
		{"managed", "key_1", SigningSecret([]byte(master), "key_1", "salt")},
	} {
		b.Run(c.name, func(b *testing.B) {
			hdr := signedHeader(c.secret, c.id, clock.Now(), "POST", "/v1/messages", body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Verify(context.Background(), "POST", "/v1/messages", hdr, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
