// Package console is Ferry's web console: hand-written HTML, CSS and JS
// embedded in the binary and served at /console/ on the admin listener, and
// the in-process per-second statistics its live charts draw (stats.go).
//
// The assets hold no data and no secret: the page asks for an admin or
// viewer key and calls the JSON admin API with it as a bearer token, so
// every number it shows is guarded by the admin API's roles. Nothing is
// fetched from outside the gateway (no CDN: users' sites have no internet).
package console

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// Handler serves the console's assets under prefix (e.g. "/console/").
func Handler(prefix string) http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The page talks only to this origin, and may not be framed.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
