package openaicompat_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
)

// TestAnswerOverBoundIsCutAtIt: a whole answer over the 32 MiB bound is
// refused having cost the bound plus a block, not io.ReadAll's growth.
func TestAnswerOverBoundIsCutAtIt(t *testing.T) {
	const bound = 32 << 20
	big := []byte(`{"id":"x","choices":[{"message":{"content":"` + strings.Repeat("x", bound) + `"}}]}`)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(big); i += 64 << 10 {
			if _, err := w.Write(big[i:min(i+64<<10, len(big))]); err != nil {
				return
			}
		}
	}))
	p := newProvider(t, openaicompat.Options{Upstream: provider.Upstream{BaseURLs: []string{srv}, Timeouts: config.Timeouts{Connect: time.Second, StreamIdle: time.Minute}}, Profile: "vllm"})
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	_, err := do(context.Background(), p, anthropicCall("m", `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, false))
	runtime.ReadMemStats(&ms)
	spent := ms.TotalAlloc - before
	if e := apierr.From(err); err == nil || e.Kind != apierr.BadGateway || !strings.Contains(e.Error(), "over 33554432 bytes") {
		t.Fatalf("err = %v, want a 502 for an answer over the bound", err)
	}
	if spent > bound+2<<20 {
		t.Errorf("an answer over the %d MiB bound cost %d MiB, want at most the bound plus 1 MiB", bound>>20, spent>>20)
	}
}
