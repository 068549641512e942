package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
)

func sha(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		keys    []config.Key
		wantLen int
		wantErr string // substring; "" means success
	}{
		{name: "none", keys: nil, wantLen: 0},
		{
			name: "plain and hashed",
			keys: []config.Key{
				{Name: "alice", Key: "sk-alice"},
				{Name: "bob", KeySHA256: sha("sk-bob")},
			},
			wantLen: 2,
		},
		{
			name:    "uppercase hex accepted",
			keys:    []config.Key{{Name: "bob", KeySHA256: strings.ToUpper(sha("sk-bob"))}},
			wantLen: 1,
		},
		{
			name:    "duplicate plain keys",
			keys:    []config.Key{{Name: "a", Key: "same"}, {Name: "b", Key: "same"}},
			wantErr: `keys "a" and "b" are the same key`,
		},
		{
			name:    "duplicate across plain and hash",
			keys:    []config.Key{{Name: "a", Key: "same"}, {Name: "b", KeySHA256: sha("same")}},
			wantErr: `keys "a" and "b" are the same key`,
		},
		{
			name:    "duplicate across hash and plain",
			keys:    []config.Key{{Name: "a", KeySHA256: sha("same")}, {Name: "b", Key: "same"}},
			wantErr: `keys "a" and "b" are the same key`,
		},
		{
			name:    "bad hex",
			keys:    []config.Key{{Name: "h", KeySHA256: strings.Repeat("zz", 32)}},
			wantErr: `key "h": key_sha256 must be 64 hex characters`,
		},
		{
			name:    "hex too short",
			keys:    []config.Key{{Name: "h", KeySHA256: sha("x")[:62]}},
			wantErr: `key "h": key_sha256 must be 64 hex characters`,
		},
		{
			name:    "hex too long",
			keys:    []config.Key{{Name: "h", KeySHA256: sha("x") + "00"}},
			wantErr: `key "h": key_sha256 must be 64 hex characters`,
		},
		{
			name:    "odd length hex",
			keys:    []config.Key{{Name: "h", KeySHA256: sha("x")[:63]}},
			wantErr: `key "h": key_sha256 must be 64 hex characters`,
		},
		{
			name:    "no key at all",
			keys:    []config.Key{{Name: "empty"}},
			wantErr: `key "empty" has no key`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := New(tc.keys)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("New succeeded, want error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("New error = %q, want it to contain %q", err, tc.wantErr)
				}
				if k != nil {
					t.Errorf("New returned a keyring with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := k.Len(); got != tc.wantLen {
				t.Errorf("Len() = %d, want %d", got, tc.wantLen)
			}
		})
	}
}

func TestNewErrorDoesNotLeakKey(t *testing.T) {
	_, err := New([]config.Key{{Name: "a", Key: "sk-secret-value"}, {Name: "b", Key: "sk-secret-value"}})
	if err == nil {
		t.Fatal("New accepted a duplicate key")
	}
	if strings.Contains(err.Error(), "sk-secret-value") {
		t.Errorf("error %q reveals the key", err)
	}
}

func TestPresented(t *testing.T) {
	tests := []struct {
		name   string
		header map[string][]string
		want   string
	}{
		{"none", nil, ""},
		{"x-api-key", map[string][]string{"X-Api-Key": {"sk-1"}}, "sk-1"},
		{"bearer", map[string][]string{"Authorization": {"Bearer sk-2"}}, "sk-2"},
		{"lowercase bearer", map[string][]string{"Authorization": {"bearer sk-3"}}, "sk-3"},
		{"uppercase bearer", map[string][]string{"Authorization": {"BEARER sk-4"}}, "sk-4"},
		{"mixed case bearer", map[string][]string{"Authorization": {"bEaReR sk-5"}}, "sk-5"},
		{"bearer token trimmed", map[string][]string{"Authorization": {"Bearer   sk-6  "}}, "sk-6"},
		{"x-api-key wins over authorization", map[string][]string{"X-Api-Key": {"sk-key"}, "Authorization": {"Bearer sk-bearer"}}, "sk-key"},
		{"empty x-api-key falls back to bearer", map[string][]string{"X-Api-Key": {""}, "Authorization": {"Bearer sk-7"}}, "sk-7"},
		{"basic scheme ignored", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, ""},
		{"token scheme ignored", map[string][]string{"Authorization": {"Token sk-8"}}, ""},
		{"bare token ignored", map[string][]string{"Authorization": {"sk-9"}}, ""},
		{"bearer without token", map[string][]string{"Authorization": {"Bearer "}}, ""},
		{"bearer without space", map[string][]string{"Authorization": {"Bearer"}}, ""},
		{"bearer glued to token", map[string][]string{"Authorization": {"Bearersk-10"}}, ""},
		{"empty authorization", map[string][]string{"Authorization": {""}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.header {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			if got := Presented(h); got != tc.want {
				t.Errorf("Presented(%v) = %q, want %q", h, got, tc.want)
			}
		})
	}
}

func TestPresentedCanonicalizesLowercaseHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("x-api-key", "sk-lower") // Set canonicalizes, as net/http does for requests
	if got := Presented(h); got != "sk-lower" {
		t.Errorf("Presented = %q, want sk-lower", got)
	}
}

func TestCheck(t *testing.T) {
	k, err := New([]config.Key{
		{Name: "alice", Key: "sk-alice-0123456789"},
		{Name: "bob", KeySHA256: sha("sk-bob-abcdef")},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	type result struct {
		Name string
		Err  error
	}
	tests := []struct {
		name      string
		presented string
		want      result
	}{
		{"plain key", "sk-alice-0123456789", result{Name: "alice"}},
		{"hashed key", "sk-bob-abcdef", result{Name: "bob"}},
		{"missing", "", result{Err: ErrMissing}},
		{"wrong key", "sk-mallory", result{Err: ErrInvalid}},
		{"prefix of a right key", "sk-alice-012345678", result{Err: ErrInvalid}},
		{"right key plus suffix", "sk-alice-0123456789x", result{Err: ErrInvalid}},
		{"the digest itself", sha("sk-bob-abcdef"), result{Err: ErrInvalid}},
		{"different case", "SK-ALICE-0123456789", result{Err: ErrInvalid}},
		{"surrounding space", " sk-alice-0123456789", result{Err: ErrInvalid}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name, err := k.Check(tc.presented)
			got := result{Name: name, Err: err}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) && errors.Is(b, a) })); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got):\n%s", tc.presented, diff)
			}
		})
	}
}

func TestCheckEmptyKeyring(t *testing.T) {
	k, err := New(nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := k.Check("anything"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Check on empty keyring = %v, want ErrInvalid", err)
	}
	if _, err := k.Check(""); !errors.Is(err, ErrMissing) {
		t.Errorf("Check(\"\") on empty keyring = %v, want ErrMissing", err)
	}
}

func TestErrorText(t *testing.T) {
	// The text is what the client sees.
	got := []string{ErrMissing.Error(), ErrInvalid.Error()}
	want := []string{"x-api-key header is required", "invalid x-api-key"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error texts mismatch (-want +got):\n%s", diff)
	}
}
