package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/relay"
)

// The response cache, in-flight coalescing and duplicate suppression, for
// Anthropic-format POST /v1/messages. OpenAI-format requests, the legacy
// /v1/complete and count_tokens always go upstream.
//
// forward calls cacheServe before relaying (a stored answer, a replay of
// an Idempotency-Key, or an error about one is written there) and relays
// through relayDo, which shares identical concurrent calls and stores the
// answer as it goes by: a JSON answer when its body has been read, a
// stream at its message_stop, before the client is sent the end (so a
// client that has its answer finds it in the cache, on every instance).

// X-Ferry-Cache values, also the result label of ferry_cache_requests_total.
const (
	cacheHit       = "hit"       // a stored answer younger than the route's cache ttl
	cacheMiss      = "miss"      // none: the request went upstream and its answer is stored
	cacheBypass    = "bypass"    // cache-control: no-cache: not looked up (still stored)
	cacheDedup     = "dedup"     // a repeat within the dedup window, or of an Idempotency-Key
	cacheCoalesced = "coalesced" // shared an identical request's upstream call
)

// Results counted but not sent as X-Ferry-Cache.
const (
	cacheIdemReplay   = "idempotent_replay"
	cacheIdemConflict = "idempotent_conflict"
	cacheIdemMismatch = "idempotent_mismatch"
)

// storeTimeout bounds a cache write done on behalf of a client that may
// have left (the context is detached from the request's).
const storeTimeout = 2 * time.Second

// useCache sets the cache up (c nil: none).
func (s *Server) useCache(c *cache.Cache, ttl map[string]time.Duration) {
	if c == nil {
		return
	}
	s.cache, s.cacheTTL = c, ttl
	if c.Coalesce() {
		s.flights = cache.NewGroup[*sharedResult](c.MaxEntryBytes())
	}
}

// cacheState is one request's part in the cache; nil when the cache is
// not involved.
type cacheState struct {
	key    cache.Key
	scope  string
	ttl    time.Duration // the route's cache ttl
	keep   time.Duration // how long the answer is kept; 0: not stored
	stream bool
	result string       // what X-Ferry-Cache says, for the log
	free   bool         // answered without an upstream call of its own
	claim  *cache.Claim // an Idempotency-Key this request owns
}

// cacheServe looks the request up. It reports true when it answered it:
// from the cache, as a replay, or with an error about its Idempotency-Key.
func (s *Server) cacheServe(x *exchange, r *http.Request, op provider.Op, body []byte, peek anthropic.Peek) bool {
	c := s.cache
	if c == nil || op != provider.OpMessages || x.endpoint != epMessages || x.format != provider.FormatAnthropic {
		return false
	}
	if x.guard != nil && x.guard.answer != nil {
		return false // its answer is the request's own (placeholders restored, words filtered): never shared
	}
	rt := x.rt
	if rt == nil {
		return false // the relay answers the 404
	}
	ttl := s.cacheTTL[rt.Match]
	ik := r.Header.Get("Idempotency-Key")
	if ttl <= 0 && c.DedupWindow() <= 0 && !c.Coalesce() && ik == "" {
		return false
	}
	k, err := cache.Request{
		Op:      "messages",
		Scope:   x.key + x.guardScope(),
		Body:    body,
		Version: r.Header.Get("Anthropic-Version"),
		Beta:    r.Header["Anthropic-Beta"],
	}.Key()
	if err != nil {
		return false // cannot happen: Inspect validated the body
	}
	noCache, noStore := cacheControl(r.Header)
	st := &cacheState{key: k, scope: x.key, ttl: ttl, stream: peek.Stream}
	if !noStore {
		st.keep = c.Keep(ttl)
	}
	x.cache, x.route = st, rt.Match
	ctx := r.Context()

	if ik != "" {
		if !validIdempotencyKey(ik) {
			s.fail(x, apierr.New(apierr.InvalidRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters"))
			return true
		}
		cl, err := c.Claim(ctx, x.key, ik, k)
		if err != nil {
			if ctx.Err() != nil { // the client left while waiting for the key
				s.fail(x, provider.Classify(ctx, err))
				return true
			}
			// The store is down: serve the request without the guarantee
			// rather than refuse it.
			s.cacheError(x, "idempotency", err)
		}
		switch {
		case cl == nil:
		case cl.Outcome == cache.IdemReplay:
			x.Header()["Idempotent-Replayed"] = []string{"true"}
			if s.replay(x, cl.Entry, cacheDedup, cacheIdemReplay) {
				return true
			}
			delete(x.Header(), "Idempotent-Replayed") // not replayable: go upstream
		case cl.Outcome == cache.IdemMismatch:
			s.m.CacheRequests.WithLabelValues(cacheIdemMismatch).Inc()
			s.fail(x, apierr.New(apierr.InvalidRequest, "this Idempotency-Key was already used with a different request"))
			return true
		case cl.Outcome == cache.IdemBusy:
			s.m.CacheRequests.WithLabelValues(cacheIdemConflict).Inc()
			s.conflict(x)
			return true
		default:
			st.claim = cl
		}
	}

	if noCache {
		s.cacheResult(x, cacheBypass)
		return false
	}
	if ttl > 0 || c.DedupWindow() > 0 {
		e, o, err := c.Lookup(ctx, k, x.key, ttl)
		if err != nil {
			s.cacheError(x, "get", err)
		}
		result := ""
		switch o {
		case cache.Hit:
			result = cacheHit
		case cache.Dedup:
			result = cacheDedup
		}
		if result != "" && s.replay(x, e, result, result) {
			if st.claim != nil {
				s.finishClaim(r, st, e.Body, e.ContentType)
			}
			return true
		}
		st.result = cacheMiss // counted by relayDo, unless it joins a call
		x.Header()["X-Ferry-Cache"] = []string{cacheMiss}
	}
	return false
}

// cacheControl reads the request's Cache-Control directives that matter.
func cacheControl(h http.Header) (noCache, noStore bool) {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			switch d = strings.TrimSpace(d); {
			case strings.EqualFold(d, "no-cache"):
				noCache = true
			case strings.EqualFold(d, "no-store"):
				noStore = true
			}
		}
	}
	return noCache, noStore
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

// cacheResult records the request's cache result: header, metric, log.
func (s *Server) cacheResult(x *exchange, result string) {
	x.cache.result = result
	x.Header()["X-Ferry-Cache"] = []string{result}
	s.m.CacheRequests.WithLabelValues(result).Inc()
}

func (s *Server) cacheError(x *exchange, op string, err error) {
	s.m.CacheErrors.WithLabelValues(op).Inc()
	s.log.Warn("cache store failed", slog.String("request_id", x.id), slog.String("op", op), slog.Any("error", err))
}

// conflict answers a request whose Idempotency-Key is in progress on
// another instance. 409 is retried by the SDKs (PROTOCOL.md §7); by then
// the first request has usually finished and the retry gets its answer.
func (s *Server) conflict(x *exchange) {
	s.m.Errors.WithLabelValues(x.endpoint, apierr.Conflict.String()).Inc()
	x.Header()["Retry-After"] = []string{"1"}
	writeJSON(x, apierr.Conflict.Status(), apierr.AppendBody(nil, protocol(x), apierr.Conflict, "a request with this Idempotency-Key is in progress", x.id))
}

// replay answers with a stored answer, as JSON or as the event stream the
// client asked for. It reports false, having written nothing, when the
// answer cannot be replayed (a malformed entry), for the caller to go
// upstream instead.
func (s *Server) replay(x *exchange, e cache.Entry, header, result string) bool {
	st := x.cache
	h := x.Header()
	if !st.stream {
		st.result, st.free = header, true
		ct := e.ContentType
		if ct == "" {
			ct = "application/json"
		}
		h["Content-Type"] = []string{ct}
		s.replayHeaders(x, e, header, result)
		x.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		writeJSON(x, http.StatusOK, e.Body)
		return true
	}
	bp := s.getBuf()
	defer s.bufs.Put(bp)
	b, err := cache.AppendStream((*bp)[:0], e.Body)
	*bp = b[:0]
	if err != nil {
		s.cacheError(x, "replay", err)
		return false
	}
	st.result, st.free = header, true
	h["Content-Type"] = []string{"text/event-stream; charset=utf-8"}
	h["Cache-Control"] = []string{"no-cache"}
	h["X-Accel-Buffering"] = []string{"no"}
	s.replayHeaders(x, e, header, result)
	x.WriteHeader(http.StatusOK)
	x.rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	if _, err := x.Write(b); err != nil {
		x.streamErr = errClientGone
		return true
	}
	if err := x.rc.Flush(); err != nil {
		x.streamErr = errClientGone
	}
	return true
}

func (s *Server) replayHeaders(x *exchange, e cache.Entry, header, result string) {
	h := x.Header()
	h["X-Ferry-Cache"] = []string{header}
	age := max(s.cache.Now().Sub(e.Created)/time.Second, 0)
	h["Age"] = []string{strconv.FormatInt(int64(age), 10)}
	s.m.CacheRequests.WithLabelValues(result).Inc()
	// No upstream tokens were used: the access log and the rate limiter
	// see a usage of zero.
	x.usage, x.usageSeen = anthropic.Totals{}, true
}

// relayDo relays a request the cache is involved in: through a shared
// call when coalescing, storing the answer as it goes by.
func (s *Server) relayDo(x *exchange, r *http.Request, req *relay.Request) (*relay.Result, error) {
	st := x.cache
	if st == nil {
		return s.relay.Do(r.Context(), req)
	}
	var (
		res    *relay.Result
		err    error
		shared *sharedResult
	)
	if s.flights != nil && st.result != cacheBypass {
		res, shared, err = s.coalesce(x, r, req)
	} else {
		res, err = s.relay.Do(r.Context(), req)
	}
	if st.result == cacheMiss && !st.free {
		s.m.CacheRequests.WithLabelValues(cacheMiss).Inc()
	}
	if err != nil || res == nil || res.Response == nil {
		s.finishClaim(r, st, nil, "")
		return res, err
	}
	if res.Status != http.StatusOK || st.keep <= 0 && st.claim == nil {
		s.finishClaim(r, st, nil, "")
		return res, nil
	}
	t := &tap{s: s, r: r, st: st, shared: shared}
	if res.Events != nil {
		t.acc = cache.NewAccumulator(s.cache.MaxEntryBytes())
		res.Events = &tapEvents{StreamBase: provider.StreamBase{Src: res.Events}, t: t}
	} else {
		t.contentType = res.Header.Get("Content-Type")
		res.Body = &tapBody{ReadCloser: res.Body, t: t}
	}
	return res, nil
}

// finishClaim ends the request's Idempotency-Key claim with its answer,
// or releases it (body nil).
func (s *Server) finishClaim(r *http.Request, st *cacheState, body []byte, contentType string) {
	if st.claim == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	defer cancel()
	if err := s.cache.Finish(ctx, st.claim, body, contentType); err != nil {
		s.m.CacheErrors.WithLabelValues("idempotency").Inc()
		s.log.Warn("cache store failed", slog.String("op", "idempotency"), slog.Any("error", err))
	}
	st.claim = nil
}
