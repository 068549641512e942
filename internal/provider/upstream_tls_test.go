package provider

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/config"
)

func TestUpstreamTLSCAFileAndPins(t *testing.T) {
	// The upstream offers HTTP/2: a custom TLS config must not lose it.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	good := SPKIPin(srv.Certificate())
	other := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" // SHA-256 of nothing
	tests := []struct {
		name    string
		caFile  string
		pins    []string
		wantErr string
	}{
		{"system roots only: unknown authority", "", nil, "certificate signed by unknown authority"},
		{"ca_file", caFile, nil, ""},
		{"ca_file and the right pin", caFile, []string{other, good}, ""},
		{"ca_file and a wrong pin", caFile, []string{other}, ErrPinMismatch.Error()},
		{"a pin does not replace verification", "", []string{good}, "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTransport(config.DefaultTimeouts())
			defer tr.CloseIdleConnections()
			if err := UpstreamTLS(tr.HTTP, tt.caFile, tt.pins); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			resp, err := tr.RoundTrip(req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("round trip: %v", err)
				}
				resp.Body.Close()
				if resp.ProtoMajor != 2 {
					t.Errorf("proto = %s, want HTTP/2.0", resp.Proto)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("round trip succeeded, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == ErrPinMismatch.Error() && !errors.Is(err, ErrPinMismatch) {
				t.Errorf("the pin error is not ErrPinMismatch: %v", err)
			}
		})
	}
	tr := NewTransport(config.DefaultTimeouts())
	if err := UpstreamTLS(tr.HTTP, filepath.Join(t.TempDir(), "missing.pem"), nil); err == nil {
		t.Error("a missing ca_file was accepted")
	}
}
