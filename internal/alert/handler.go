package alert

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/ferrygw/ferry/internal/apierr"
)

// Handler serves GET /admin/alerts: the recent deliveries, newest first, as
// {"webhooks":[{"name","kind"}],"deliveries":[…]}. It does no
// authentication: mount it behind the admin listener's. Webhook URLs and
// secrets are never shown.
func (n *Notifier) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		type hook struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
			Lang string `json:"lang"`
		}
		out := struct {
			Webhooks   []hook     `json:"webhooks"`
			Deliveries []Delivery `json:"deliveries"`
		}{Webhooks: []hook{}, Deliveries: n.Deliveries()}
		for _, h := range n.Webhooks() {
			out.Webhooks = append(out.Webhooks, hook{h.Name, h.Kind, h.Lang})
		}
		b, err := json.Marshal(out)
		if err != nil {
			apierr.WriteAdmin(w, apierr.Wrap(apierr.Internal, err, "deliveries could not be encoded"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
}
