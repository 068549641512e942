package anthropic_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/anthropic"
)

// TestHeaderPolicy: the header policy's headers reach the upstream over
// the provider's static ones, never over its credential or the
// connection's own headers, and the body is forwarded as it came.
func TestHeaderPolicy(t *testing.T) {
	got := make(chan http.Header, 1)
	u := newUpstream(t, func(u *upstream, w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		okHandler(u, w, r)
	})
	p := newProvider(t, anthropic.Options{Upstream: provider.Upstream{BaseURLs: []string{u.URL}, APIKey: "sk-provider", Headers: map[string]string{"X-Claude-Timezone": "UTC"}}})
	c := call(`{"model":"m","max_tokens":1}`)
	c.Header.Set("X-Api-Key", "client-key")
	c.SetHeader = [][2]string{{"X-Claude-Timezone", "Asia/Shanghai"}, {"X-Biz-Type", "batch"}, {"X-Api-Key", "stolen"}, {"Connection", "close"}, {"Authorization", "Bearer x"}}
	if _, err := do(t, context.Background(), p, c); err != nil {
		t.Fatal(err)
	}
	h := <-got
	for k, want := range map[string]string{"X-Claude-Timezone": "Asia/Shanghai", "X-Biz-Type": "batch", "X-Api-Key": "sk-provider", "Authorization": ""} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
}
