package config

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// TLS serves the public listener over TLS from certificate files, which
// are re-read when they change (internal/app/tls.go).
type TLS struct {
	CertFile   string `yaml:"cert_file"`   // PEM certificate chain; with key_file turns TLS on
	KeyFile    string `yaml:"key_file"`    // PEM private key
	MinVersion string `yaml:"min_version"` // "1.2" (default) | "1.3": TLS 1.3 only
}

// Enabled reports whether the listener serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// TLS versions accepted by tls.min_version.
const (
	TLS12 = "1.2"
	TLS13 = "1.3"
)

// HMAC configures signed service requests, an alternative to bearer keys
// (internal/auth/hmac.go, docs/security.md).
type HMAC struct {
	Keys []HMACKey     `yaml:"keys"` // key ids and their shared secrets
	Skew time.Duration `yaml:"skew"` // largest clock difference accepted, default 5m
	// MasterSecret lets managed keys sign: each one's signing secret is
	// derived from it, the key's id and a salt stored with the key
	// (auth.SigningSecret), so the store holds nothing that signs. At least
	// 32 bytes; the same on every instance sharing a store.
	MasterSecret Secret `yaml:"master_secret"`
}

// HMACKey is one signing key.
type HMACKey struct {
	ID     string `yaml:"id"`     // sent as X-Ferry-Key-Id; also the name in logs and usage
	Secret Secret `yaml:"secret"` // the shared secret, at least 32 bytes
}

// DefaultHMACSkew is hmac.skew's default: ±5 minutes.
const DefaultHMACSkew = 5 * time.Minute

// MinHMACSecret is the shortest HMAC secret accepted.
const MinHMACSecret = 32

func (c *Config) tlsDefaults() {
	setDefault(&c.TLS.MinVersion, TLS12)
	setDefault(&c.HMAC.Skew, DefaultHMACSkew)
}

func (v *validator) tls(c *Config) {
	t := c.TLS
	if t.Enabled() {
		if t.CertFile == "" {
			v.add("tls.cert_file", "is required with tls.key_file")
		}
		if t.KeyFile == "" {
			v.add("tls.key_file", "is required with tls.cert_file")
		}
	}
	if t.MinVersion != "" && t.MinVersion != TLS12 && t.MinVersion != TLS13 {
		v.addf("tls.min_version", "%q is unknown: use \"1.2\" or \"1.3\"", t.MinVersion)
	}
	if bp := c.BasePath; bp != "" {
		switch {
		case !strings.HasPrefix(bp, "/"):
			v.addf("base_path", "%q must start with /, as in /proxy", bp)
		case bp == "/" || strings.HasSuffix(bp, "/"):
			v.addf("base_path", "%q must not end with /: write /proxy", bp)
		case strings.ContainsAny(bp, "?#% ") || strings.Contains(bp, "//") || strings.Contains(bp, "/../") || strings.HasSuffix(bp, "/.."):
			v.addf("base_path", "%q is not a plain path", bp)
		}
	}
	v.nonNegative("hmac.skew", c.HMAC.Skew)
	ids := map[string]bool{}
	for i, k := range c.HMAC.Keys {
		p := fmt.Sprintf("hmac.keys[%d]", i)
		switch {
		case k.ID == "":
			v.add(p+".id", "is required")
		case ids[k.ID]:
			v.addf(p+".id", "%q is defined twice", k.ID)
		}
		ids[k.ID] = true
		if n := len(k.Secret.Reveal()); n < MinHMACSecret {
			v.missing(p+".secret", fmt.Sprintf("must be at least %d bytes (it has %d)", MinHMACSecret, n))
		}
	}
	if n := len(c.HMAC.MasterSecret.Reveal()); n > 0 && n < MinHMACSecret {
		v.addf("hmac.master_secret", "must be at least %d bytes (it has %d): openssl rand -hex 32 makes one", MinHMACSecret, n)
	}
	for i, pr := range c.Providers {
		for j, pin := range pr.PinSHA256 {
			b, err := base64.StdEncoding.DecodeString(pin)
			if err != nil || len(b) != 32 {
				v.addf(fmt.Sprintf("providers[%d].pin_sha256[%d]", i, j), "%q is not a base64 SHA-256 (44 characters, as openssl prints it)", pin)
			}
		}
	}
}
