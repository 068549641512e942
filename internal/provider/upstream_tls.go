package provider

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ErrPinMismatch is the handshake error when no certificate of an
// upstream's chain has a pinned key.
var ErrPinMismatch = errors.New("upstream certificate matches no pin_sha256")

// UpstreamTLS sets a provider transport's TLS: caFile's PEM certificates
// are trusted besides the system's roots (a relay behind a private CA),
// and pins, when given, require one certificate of the verified chain to
// carry a public key whose SPKI SHA-256 (base64, as `openssl x509 -pubkey
// | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
// base64` prints it) is among them. Pinning adds to verification; it never
// replaces it.
func UpstreamTLS(t *http.Transport, caFile string, pins []string) error {
	if caFile == "" && len(pins) == 0 {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("ca_file: %w", err)
		}
		if !roots.AppendCertsFromPEM(b) {
			return fmt.Errorf("ca_file %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = roots
	}
	if len(pins) > 0 {
		want := make(map[[sha256.Size]byte]bool, len(pins))
		for _, p := range pins {
			b, err := base64.StdEncoding.DecodeString(p)
			if err != nil || len(b) != sha256.Size {
				return fmt.Errorf("pin_sha256 %q is not a base64 SHA-256", p)
			}
			want[[sha256.Size]byte(b)] = true
		}
		// VerifyConnection runs after the chain is verified (and on
		// resumed sessions too, unlike VerifyPeerCertificate).
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, c := range cs.PeerCertificates {
				if want[sha256.Sum256(c.RawSubjectPublicKeyInfo)] {
					return nil
				}
			}
			return ErrPinMismatch
		}
	}
	t.TLSClientConfig = cfg
	return nil
}

// SPKIPin returns a certificate's pin_sha256 value.
func SPKIPin(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
