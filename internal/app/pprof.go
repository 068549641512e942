package app

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves Go's profiles under /debug/pprof/ (index, cmdline,
// profile, symbol, trace, and every named profile: heap, allocs,
// goroutine, block, mutex, threadcreate), so an operator can profile a
// running gateway in place:
//
//	go tool pprof -http=: -H 'Authorization: Bearer …' http://ADMIN/debug/pprof/profile?seconds=20
//
// (curl the profile to a file first when the pprof tool lacks -H). The
// handlers are mounted on the admin mux, never on http.DefaultServeMux,
// which this process does not serve.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // and /debug/pprof/{heap,allocs,goroutine,…}
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
