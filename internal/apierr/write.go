package apierr

import "net/http"

// WriteAdmin answers e in Anthropic's error shape, with no request id and
// Cache-Control: no-store: how the admin API's handlers, in every package,
// answer an error.
func WriteAdmin(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Kind.Status())
	w.Write(append(AppendBody(nil, Anthropic, e.Kind, e.Public, ""), '\n'))
}
