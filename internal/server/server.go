// Package server is Ferry's public HTTP API: routing of paths, request ids,
// authentication, body limits, access logs, and the one place where errors
// become Anthropic error responses.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrygw/ferry/internal/auth"
	"github.com/ferrygw/ferry/internal/cache"
	"github.com/ferrygw/ferry/internal/guard"
	"github.com/ferrygw/ferry/internal/metrics"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/ratelimit"
	"github.com/ferrygw/ferry/internal/relay"
	"github.com/ferrygw/ferry/internal/tracing"
	"github.com/ferrygw/ferry/internal/usage"
)

// Options configure a Server.
type Options struct {
	Relay           *relay.Relay
	Keys            *auth.Keyring // nil or empty: no authentication (the app allows that on loopback only)
	Models          []string      // names listed by /v1/models
	ModelsCreated   time.Time     // created_at of every listed model
	MaxRequestBytes int64
	// BodyTimeout bounds the time a request body takes to arrive once its
	// headers are in (default 30s): a slower client gets a 408 and its
	// connection is closed.
	BodyTimeout time.Duration
	// MaxResponseBytes bounds a non-streaming upstream answer (default 64 MiB).
	MaxResponseBytes int64
	// WriteTimeout bounds each write to a client (default 60s), so a client
	// that stops reading cannot pin a stream forever.
	WriteTimeout time.Duration
	Logger       *slog.Logger
	Metrics      *metrics.Metrics
	// RateLimiter limits requests, tokens and concurrency (nil, or one
	// without rules: no limits). The server admits every request it
	// forwards and settles it at the end.
	RateLimiter *ratelimit.Limiter
	// Cache is the response cache, coalescing and duplicate suppression
	// (nil: none); CacheTTL maps a route's match to its cache ttl.
	Cache    *cache.Cache
	CacheTTL map[string]time.Duration
	// Guards gives each request its guard (nil: no guardrails; see
	// guard.go), counted in GuardMetrics.
	Guards       GuardSet
	GuardMetrics *metrics.Guard
	// Usage reserves budgets at entry and records cost and the ledger row
	// at the end (nil: none; see usage.go).
	Usage *usage.Recorder
	// TagHeader names the request header carrying the traffic tag (empty:
	// none); Tags are the configured tags, the rest count as "other".
	TagHeader string
	Tags      *metrics.Labels
	// Tracer makes spans of requests, the limiter and the cache (nil: off).
	Tracer *tracing.Tracer
	// BasePath serves the API under a prefix such as /proxy (basepath.go);
	// "" serves it at the root.
	BasePath string
	// HMAC verifies signed service requests (nil: none; hmac.go).
	HMAC *auth.HMAC
	// Finished, when set, is told of every API request (not health checks)
	// as its access log line is written: its status (499: the client left),
	// whole duration and, for a stream, the time to its first text relayed
	// (0: none), and the attempts ("provider@node:outcome") when there were
	// several (nil otherwise). The console's live charts are fed from it; it
	// must be quick.
	Finished func(status int, total, firstToken time.Duration, retried []string)
}

// Server is the public API handler.
type Server struct {
	relay         *relay.Relay
	keys          *auth.Keyring
	models        []string
	modelsCreated string
	maxReq        int64
	maxResp       int64
	bodyTimeout   time.Duration
	writeTimeout  time.Duration
	log           *slog.Logger
	m             *metrics.Metrics
	draining      atomic.Bool
	active        atomic.Int64           // requests in flight (see drain.go)
	idle          chan struct{}          // signalled when active falls to 0 while draining
	onIdle        atomic.Pointer[func()] // called when active falls to 0 (OnIdle)
	stopped       context.Context        // ended by Stop: the grace period is over
	stopAll       context.CancelFunc     // Stop
	limiter       *ratelimit.Limiter     // nil: no rate limits
	cache         *cache.Cache           // nil: no cache (see cache.go)
	cacheTTL      map[string]time.Duration
	flights       *cache.Group[*sharedResult] // nil: no coalescing
	bufs          sync.Pool                   // *[]byte for non-streaming answers
	usage         *usage.Recorder             // nil: no budgets or ledger
	lines         sync.Pool                   // *jsonFields for access log lines (accesslog.go)
	tagHeader     string                      // the traffic tag's header (observe.go)
	tags          *metrics.Labels             // folds tags for metrics
	tracer        *tracing.Tracer             // nil: no spans
	guards        GuardSet                    // nil: no guardrails (guard.go)
	guardM        *metrics.Guard
	logRedactor   *guard.LogRedactor // the access log's error texts, always
	basePath      string             // "" or a prefix such as /proxy (basepath.go)
	hmac          *auth.HMAC         // nil: no signed requests (hmac.go)
	onFinished    func(status int, total, firstToken time.Duration, retried []string)
}

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Relay == nil || o.Logger == nil || o.Metrics == nil {
		return nil, errors.New("server: relay, logger and metrics are required")
	}
	s := &Server{
		relay:         o.Relay,
		keys:          o.Keys,
		models:        o.Models,
		modelsCreated: o.ModelsCreated.UTC().Format(time.RFC3339),
		maxReq:        o.MaxRequestBytes,
		maxResp:       o.MaxResponseBytes,
		bodyTimeout:   o.BodyTimeout,
		writeTimeout:  o.WriteTimeout,
		log:           o.Logger,
		m:             o.Metrics,
		tagHeader:     o.TagHeader,
		tags:          o.Tags,
		tracer:        o.Tracer,
		onFinished:    o.Finished,
		idle:          make(chan struct{}, 1),
		guards:        o.Guards,
		guardM:        o.GuardMetrics,
		logRedactor:   guard.NewLogRedactor(),
		usage:         o.Usage,
		basePath:      o.BasePath,
		hmac:          o.HMAC,
	}
	s.stopped, s.stopAll = context.WithCancel(context.Background())
	if s.maxReq <= 0 {
		s.maxReq = 32 << 20
	}
	if s.maxResp <= 0 {
		s.maxResp = 64 << 20
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = 30 * time.Second
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = 60 * time.Second
	}
	if s.keys != nil && s.keys.Open() && !s.keys.Managed() {
		s.keys = nil
	}
	if o.RateLimiter != nil && o.RateLimiter.Enabled() {
		s.limiter = o.RateLimiter
	}
	s.useCache(o.Cache, o.CacheTTL)
	return s, nil
}

// Endpoint names, used as metric labels and in logs.
const (
	epMessages    = "messages"
	epCountTokens = "count_tokens"
	epChat        = "chat_completions"
	epComplete    = "complete"
	epCompletions = "completions" // OpenAI's legacy API (completions.go)
	epModels      = "models"
	epHealth      = "health"
	epRoot        = "root"
	epOther       = "other"
)

// dispatch dispatches on the path. The set of paths is small and fixed, so
// a switch is both the fastest and the clearest router; it also lets every
// miss answer in Anthropic's error shape.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	x := s.begin(w, r)
	defer s.end(x, r)
	r = s.traceInbound(x, r)

	p := r.URL.Path
	switch {
	case p == "/v1/messages":
		x.endpoint = epMessages
		if s.method(x, r, http.MethodPost) && s.serving(x, r) && s.authenticate(x, r) {
			s.messages(x, r, provider.OpMessages)
		}
	case p == "/v1/messages/count_tokens":
		x.endpoint = epCountTokens
		if s.method(x, r, http.MethodPost) && s.serving(x, r) && s.authenticate(x, r) {
			s.messages(x, r, provider.OpCountTokens)
		}
	case p == "/v1/chat/completions":
		x.endpoint = epChat
		x.format = provider.FormatOpenAI
		if s.method(x, r, http.MethodPost) && s.serving(x, r) && s.authenticate(x, r) {
			s.chatCompletions(x, r)
		}
	case p == "/v1/completions":
		x.endpoint = epCompletions
		x.format = provider.FormatOpenAI
		if s.method(x, r, http.MethodPost) && s.serving(x, r) && s.authenticate(x, r) {
			s.openAICompletions(x, r)
		}
	case p == "/v1/complete":
		x.endpoint = epComplete
		if s.method(x, r, http.MethodPost) && s.serving(x, r) && s.authenticate(x, r) {
			s.complete(x, r)
		}
	case p == "/v1/models" || len(p) > len("/v1/models/") && p[:len("/v1/models/")] == "/v1/models/":
		x.endpoint = epModels
		if s.method(x, r, http.MethodGet) && s.serving(x, r) && s.authenticate(x, r) {
			s.listModels(x, r)
		}
	case p == "/healthz":
		x.endpoint = epHealth
		if s.method(x, r, http.MethodGet) {
			writeJSON(x, http.StatusOK, []byte(`{"status":"ok"}`))
		}
	case p == "/readyz":
		x.endpoint = epHealth
		if !s.method(x, r, http.MethodGet) {
			return
		}
		if s.draining.Load() {
			writeJSON(x, http.StatusServiceUnavailable, []byte(`{"status":"draining"}`))
			return
		}
		writeJSON(x, http.StatusOK, []byte(`{"status":"ready"}`))
	case p == "/":
		// Claude Code's warm-up: HEAD / at start. Answer without auth or
		// body, cheaply.
		x.endpoint = epRoot
		if s.method(x, r, http.MethodGet) {
			x.Header().Set("Content-Type", "text/plain; charset=utf-8")
			x.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				x.Write([]byte("ferry: Anthropic-compatible gateway\n"))
			}
		}
	default:
		x.endpoint = epOther
		s.fail(x, notFound(r))
	}
}

// method checks the method; HEAD is allowed wherever GET is.
func (s *Server) method(x *exchange, r *http.Request, want string) bool {
	if r.Method == want || want == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	x.Header().Set("Allow", want)
	s.fail(x, methodNotAllowed(r))
	return false
}

func (s *Server) authenticate(x *exchange, r *http.Request) bool {
	if s.hmac != nil && auth.Signed(r.Header) {
		return s.authenticateSigned(x, r)
	}
	if (s.hmac == nil || s.hmac.Open()) && (s.keys == nil || s.keys.Open()) {
		return true
	}
	id, err := s.identify(r)
	if err == nil {
		x.key, x.ident = id.Name, id
		err = id.AllowRoute(x.endpoint) // the role and the key's route scope: 403
	} else {
		err = authError(err)
	}
	if err != nil {
		// Answered at once, its body unread: a client without a valid
		// key gets no time to trickle one in.
		s.dropBody(x, r)
		s.fail(x, err)
		return false
	}
	return true
}
