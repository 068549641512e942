package relay

// What an upstream's error answer means: for the node's breaker, for the
// retry loop, and for the client.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferrygw/ferry/internal/apierr"
	"github.com/ferrygw/ferry/internal/provider"
	"github.com/ferrygw/ferry/internal/upstream"
)

// verdict is how one error answer counts.
type verdict struct {
	resp      *provider.Response // the answer to keep for the client; nil: err instead
	err       error              // the gateway's own error in its place
	result    upstream.Result    // for the node's breaker
	final     bool               // the same request fails the same way anywhere
	elsewhere bool               // a 429 or 3xx: retried on another node at once, never on this one
	noRetry   bool               // not on this provider (another target may serve)
}

// judge classifies an upstream's error answer, already buffered.
//
//   - 429 is the vendor's quota, not the node's health: never a breaker
//     failure. The node cools down for its retry-after (a preference:
//     another node serves if there is one) and the client gets the 429 at
//     once when no other node or target can serve.
//   - 401 and 403 are the vendor refusing the gateway's own credential:
//     not the client's key, so never shown as a 401 (Claude Code would
//     ask its user to log in again), but a 502 naming the provider, with
//     x-should-retry: false; the log says which provider's key to fix.
//     Another target (another credential) may serve.
//   - 3xx is a misconfigured node (a base_url that redirects): never
//     followed (outbound traffic goes only to configured upstreams) and
//     never passed on as a bare redirect: a 502 that says so.
//   - 408, 5xx and 529 count against the node and are retried.
//   - any other 4xx is the request's own fault: final.
func (r *Relay) judge(ctx context.Context, b *backend, n *upstream.Node, resp *provider.Response, retryAfter time.Duration) verdict {
	switch s := resp.Status; {
	case s == http.StatusTooManyRequests:
		b.pool.CoolDown(n.Index(), retryAfter)
		return verdict{resp: resp, result: upstream.Neutral, elsewhere: true}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		resp.Close()
		r.log.LogAttrs(ctx, slog.LevelError, "upstream refused the provider's credential: fix this provider's api_key",
			slog.String("provider", b.name), slog.String("node", n.Label()), slog.Int("status", s))
		return verdict{err: &apierr.Error{
			Kind:    apierr.BadGateway,
			Public:  fmt.Sprintf("upstream provider %s: credential refused (HTTP %d): the gateway's key for this provider must be fixed", b.name, s),
			Err:     &provider.Failure{Reason: ReasonCredential, Err: fmt.Errorf("provider %s answered %d to the gateway's credential", b.name, s)},
			NoRetry: true,
		}, result: upstream.Neutral, noRetry: true}
	case s >= 300 && s <= 399:
		resp.Close()
		return verdict{err: &apierr.Error{
			Kind:   apierr.BadGateway,
			Public: fmt.Sprintf("upstream provider %s answered a redirect (HTTP %d), which the gateway does not follow: check its base_urls", b.name, s),
			Err:    &provider.Failure{Reason: provider.HTTPReason(s), Err: errors.New("upstream redirect")},
		}, result: upstream.Failure, elsewhere: true}
	case failing(s):
		return verdict{resp: resp, result: upstream.Failure}
	}
	return verdict{resp: resp, result: upstream.Neutral, final: true}
}

// ReasonCredential is the attempt outcome of a provider that refused the
// gateway's own credential (401/403).
const ReasonCredential = "credential_refused"

// noNodeError is the refusal when no node of b can be called: a 503 whose
// retry-after is the time until the next probe, naming the provider and
// its last failure (a reason such as upstream_529: never the upstream's
// own text, which could carry anything).
func (r *Relay) noNodeError(b *backend) *apierr.Error {
	wait := max(b.pool.NextProbe(), time.Second)
	last := b.pool.LastFailure()
	if last == "" {
		last = "none recorded"
	}
	return &apierr.Error{
		Kind: apierr.Unavailable,
		Public: fmt.Sprintf("no upstream node available: every node of provider %s has its circuit breaker open or fails its health check (last failure: %s); next probe in %ds",
			b.name, last, int((wait+time.Second-1)/time.Second)),
		Err:        &provider.Failure{Reason: ReasonNoNode, Err: errors.New("every node's breaker is open or its health check failing")},
		RetryAfter: wait,
	}
}

// markNoRetry tells the client not to retry the target's error: on the
// kept answer's headers, or on the gateway's own error.
func (o *targetOutcome) markNoRetry() {
	if o.resp != nil {
		if o.resp.Header == nil {
			o.resp.Header = http.Header{}
		}
		o.resp.Header.Set("X-Should-Retry", "false")
		return
	}
	var ae *apierr.Error
	if errors.As(o.err, &ae) {
		e := *ae
		e.NoRetry = true
		o.err = &e
	}
}
