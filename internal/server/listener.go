package server

import (
	"net/http"
	"time"
)

// NewHTTPServer is the client-facing listener's net/http server with h as
// its handler: a bounded wait for a request's headers (slow clients),
// idle keep-alive connections closed after two minutes, header blocks up
// to 1 MiB. Ferry's public listener and the bench's featureless proxy
// (cmd/benchmock -proxy) both use it, so that the floor they are compared
// against has the same server.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
}
