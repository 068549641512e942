package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// listenerTLS turns TLS on for the public listener when tls.cert_file is
// set. The certificate is loaded now, so a wrong file stops the start, and
// re-read whenever a file's modification time changes (a renewed
// certificate is served from the next handshake on, no restart).
func (a *App) listenerTLS(log *slog.Logger) error {
	c := a.cfg.TLS
	if !c.Enabled() {
		return nil
	}
	certs := &certFiles{certFile: c.CertFile, keyFile: c.KeyFile, log: log}
	if _, err := certs.get(nil); err != nil {
		return err
	}
	a.public.TLSConfig = &tls.Config{
		MinVersion:     minTLSVersion(c.MinVersion),
		GetCertificate: certs.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	return nil
}

func minTLSVersion(v string) uint16 {
	if v == config.TLS13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// upstreamTransport is a provider's own transport with its ca_file and
// pin_sha256, when it sets either; else rt (nil: the provider builds its
// own). An injected test transport is kept as it is.
func upstreamTransport(pc config.Provider, rt http.RoundTripper) (http.RoundTripper, error) {
	if rt != nil || pc.CAFile == "" && len(pc.PinSHA256) == 0 {
		return rt, nil
	}
	tr := provider.NewTransport(pc.Timeouts)
	if err := provider.UpstreamTLS(tr.HTTP, pc.CAFile, pc.PinSHA256); err != nil {
		return nil, fmt.Errorf("provider %s: %w", pc.Name, err)
	}
	return tr, nil
}

// servePublic serves the public listener, over TLS when configured.
func (a *App) servePublic() error {
	if a.public.TLSConfig != nil {
		return a.public.ServeTLS(a.pubLn, "", "")
	}
	return a.public.Serve(a.pubLn)
}

// certFiles is a certificate read from files, cached and re-read when a
// file's modification time changes. A file that fails to load (a renewal
// written half-way) keeps the previous certificate in service.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu              sync.Mutex
	cur             *tls.Certificate
	certMod, keyMod time.Time
}

// get is tls.Config.GetCertificate: two stats per handshake, a load only
// on change.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cm, err1 := modTime(c.certFile)
	km, err2 := modTime(c.keyFile)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && (err1 != nil || err2 != nil || cm.Equal(c.certMod) && km.Equal(c.keyMod)) {
		return c.cur, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		err = fmt.Errorf("tls: loading %s and %s: %w", c.certFile, c.keyFile, err)
		if c.cur == nil {
			return nil, err
		}
		c.certMod, c.keyMod = cm, km // tried once per change, not per handshake
		c.log.Warn("tls certificate not reloaded; serving the previous one", slog.Any("err", err))
		return c.cur, nil
	}
	if c.cur != nil {
		c.log.Info("tls certificate reloaded", slog.String("cert_file", c.certFile))
	}
	c.cur, c.certMod, c.keyMod = &cert, cm, km
	return c.cur, nil
}

func modTime(path string) (time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}
