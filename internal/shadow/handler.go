package shadow

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/ferrygw/ferry/internal/apierr"
)

// DefaultRecent is how many recent pairs the handler shows unless asked.
const DefaultRecent = 20

// Handler serves the Summary as JSON to GET (and HEAD). Query parameters:
// route (one route's match pattern) and recent (how many recent pairs, 0
// to Keep, default DefaultRecent). It does no authentication: mount it
// behind the admin listener's.
func (m *Mirror) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, apierr.MethodNotAllowed, "method "+r.Method+" is not allowed")
			return
		}
		q := Query{Route: r.URL.Query().Get("route"), Recent: DefaultRecent}
		if v := r.URL.Query().Get("recent"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeError(w, apierr.InvalidRequest, "recent must be a non-negative integer")
				return
			}
			q.Recent = n
		}
		q.Recent = min(q.Recent, len(m.ring))
		b, err := json.Marshal(m.Summary(q))
		if err != nil { // only plain types: cannot happen
			writeError(w, apierr.Internal, "summary could not be encoded")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(b)
	})
}

// writeError answers in Anthropic's error shape, like the rest of the admin
// API.
func writeError(w http.ResponseWriter, kind apierr.Kind, msg string) {
	apierr.WriteAdmin(w, apierr.New(kind, "%s", msg))
}
