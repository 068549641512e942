package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
)

// BenchmarkBasePathDispatch is the cost base_path adds to a request: the
// same cheap endpoint served at the root and under /proxy, in process.
func BenchmarkBasePathDispatch(b *testing.B) {
	for _, tt := range []struct{ name, base, path string }{
		{"root", "", "/healthz"},
		{"under_proxy", "/proxy", "/proxy/healthz"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			cfg := &config.Config{
				Listen:    "127.0.0.1:0",
				Admin:     config.Admin{Listen: "off"},
				Providers: []config.Provider{{Name: "sim", Type: config.TypeSimulator}},
				Routes:    []config.Route{{Match: "*", Targets: []config.Target{{Provider: "sim"}}}},
				BasePath:  tt.base,
			}
			cfg.ApplyDefaults()
			a, err := New(cfg, Options{Logger: NewLogger(config.Log{Level: "error"}, io.Discard)})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			h := a.Handler()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
