package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestCacheControl(t *testing.T) {
	for _, tt := range []struct {
		in               []string
		noCache, noStore bool
	}{
		{nil, false, false},
		{[]string{"no-cache"}, true, false},
		{[]string{"No-Cache"}, true, false},
		{[]string{"max-age=0, no-store"}, false, true},
		{[]string{"private", " no-cache , no-store "}, true, true},
		{[]string{"no-cache-please"}, false, false},
	} {
		nc, ns := cacheControl(http.Header{"Cache-Control": tt.in})
		if nc != tt.noCache || ns != tt.noStore {
			t.Errorf("%q: no-cache %v no-store %v", tt.in, nc, ns)
		}
	}
}

func TestValidIdempotencyKey(t *testing.T) {
	for k, want := range map[string]bool{
		"":                       false,
		"a":                      true,
		"order-42 / retry":       true,
		strings.Repeat("k", 255): true,
		strings.Repeat("k", 256): false,
		"tab\there":              false,
		"caf\u00e9":              false,
		"del\x7f":                false,
	} {
		if got := validIdempotencyKey(k); got != want {
			t.Errorf("%q: %v, want %v", k, got, want)
		}
	}
}
