package provider

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
)

// An upstream that offers HTTP/2 over TLS gets it: one connection carries
// concurrent requests instead of one connection each. A plain-HTTP
// upstream keeps HTTP/1.1.
func TestTransportHTTP2(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(h)
	defer plain.Close()

	tr := NewTransport(config.Timeouts{Connect: 5 * time.Second, TLSHandshake: 5 * time.Second})
	defer tr.CloseIdleConnections()
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	for url, want := range map[string]string{tlsSrv.URL: "HTTP/2.0", plain.URL: "HTTP/1.1"} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want || resp.Proto != want {
			t.Errorf("%s: upstream saw %s, response %s; want %s", url, b, resp.Proto, want)
		}
	}
}
