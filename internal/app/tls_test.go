package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn.
func writeCert(t *testing.T, dir, cn string, mod time.Time) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

func tlsGet(url string, roots *x509.CertPool, maxVersion uint16) (*http.Response, *tls.ConnectionState, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: maxVersion}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	resp.Body.Close()
	return resp, resp.TLS, nil
}

// tls.min_version "1.3": a TLS 1.2 client is refused, a TLS 1.3 client
// served; a renewed certificate is served without a restart.
func TestListenerTLS13AndCertReload(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	certFile, keyFile, first := writeCert(t, dir, "first", start)
	g := newGateway(t, func(c *config.Config) {
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile, MinVersion: "1.3"}
	})
	url := strings.Replace(g.URL, "http://", "https://", 1) + "/healthz"
	roots := x509.NewCertPool()
	roots.AddCert(first)

	if _, _, err := tlsGet(url, roots, tls.VersionTLS12); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.2 client: err = %v, want a protocol version alert", err)
	}
	resp, st, err := tlsGet(url, roots, 0)
	if err != nil {
		t.Fatalf("TLS 1.3 client: %v", err)
	}
	if resp.StatusCode != http.StatusOK || st.Version != tls.VersionTLS13 || st.PeerCertificates[0].Subject.CommonName != "first" {
		t.Fatalf("TLS 1.3 client: status %d version %x cn %s", resp.StatusCode, st.Version, st.PeerCertificates[0].Subject.CommonName)
	}

	_, _, second := writeCert(t, dir, "second", start.Add(30*time.Second))
	roots.AddCert(second)
	_, st, err = tlsGet(url, roots, 0)
	if err != nil {
		t.Fatalf("after renewal: %v", err)
	}
	if cn := st.PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Fatalf("after renewal the listener serves %q, want the new certificate", cn)
	}
	if !strings.Contains(g.Logs.String(), "tls certificate reloaded") {
		t.Errorf("no log line for the reload")
	}
}

// Plain TLS with the default minimum accepts TLS 1.2.
func TestListenerTLS12Default(t *testing.T) {
	certFile, keyFile, cert := writeCert(t, t.TempDir(), "ferry", time.Now())
	g := newGateway(t, func(c *config.Config) { c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile} })
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	_, st, err := tlsGet(strings.Replace(g.URL, "http://", "https://", 1)+"/healthz", roots, tls.VersionTLS12)
	if err != nil || st.Version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2 client: %v %+v", err, st)
	}
}

// A provider behind a private CA is reached with its ca_file, and refused
// when its key is not pinned.
func TestUpstreamCAFileAndPin(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`))
	}))
	defer up.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`
	for _, tt := range []struct {
		name string
		pins []string
		want int
	}{
		{"ca_file and pin", []string{provider.SPKIPin(up.Certificate())}, http.StatusOK},
		{"wrong pin", []string{"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, http.StatusBadGateway},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(c *config.Config) {
				c.Providers[0].BaseURLs = []string{up.URL}
				c.Providers[0].CAFile = caFile
				c.Providers[0].PinSHA256 = tt.pins
			})
			resp, b := g.rawPost(t, "/v1/messages", body, nil)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
		})
	}
}
