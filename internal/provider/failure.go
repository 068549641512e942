package provider

// Failed attempts and their reasons. A reason is a short, stable string: a
// metric label (bounded: one of the constants below, or upstream_<status>
// made by the relay) and the outcome of an attempt in the access log.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/ferrygw/ferry/internal/apierr"
)

// Failure reasons: why an attempt produced no (complete) answer.
const (
	ReasonConnectRefused      = "connect_refused"       // nothing listens: the request never left
	ReasonConnectTimeout      = "connect_timeout"       // timeouts.connect passed while dialing
	ReasonConnectError        = "connect_error"         // any other dial failure (DNS, no route): never sent
	ReasonTLSHandshakeTimeout = "tls_handshake_timeout" // timeouts.tls_handshake passed
	ReasonTLSError            = "tls_error"             // a bad certificate, a protocol error
	ReasonFirstByteTimeout    = "first_byte_timeout"    // no response headers within the attempt's first-byte timeout
	ReasonStreamIdle          = "stream_idle_timeout"   // the answer went silent for longer than stream_idle
	ReasonDeadline            = "deadline_exceeded"     // the request's total deadline passed
	ReasonConnectionReset     = "connection_reset"      // the upstream closed or reset the connection
	ReasonCanceled            = "canceled"              // the client went away: never the upstream's fault
	ReasonUpstreamError       = "upstream_error"        // any other transport failure
)

// Causes the gateway cancels an attempt's context with, so that the
// failure that follows is told apart from a client's cancel.
var (
	// ErrFirstByte: the attempt's first-byte timeout passed.
	ErrFirstByte = errors.New("upstream first byte timeout")
	// ErrIdle: an upstream stayed silent longer than stream_idle.
	ErrIdle = errors.New("upstream idle timeout")
	// ErrDeadline: the request's total deadline passed. The relay cancels
	// the context it gives providers with this cause.
	ErrDeadline = errors.New("request deadline exceeded")
)

// Failure is an attempt that got no answer, or lost it half-way, with the
// reason. Providers return it wrapped in an *apierr.Error (Classify).
type Failure struct {
	Reason string
	Err    error
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return f.Reason
	}
	return f.Reason + ": " + f.Err.Error()
}
func (f *Failure) Unwrap() error { return f.Err }

// Reason is the reason of the Failure in err's chain. An error without
// one is named by its apierr kind, so that a metric label is never empty.
func Reason(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Kind.String()
	}
	return ReasonUpstreamError
}

// HTTPReason is the outcome of an attempt the upstream answered with an
// error status: upstream_<status>.
func HTTPReason(status int) string {
	switch status { // the common ones without an allocation
	case 408:
		return "upstream_408"
	case 429:
		return "upstream_429"
	case 500:
		return "upstream_500"
	case 502:
		return "upstream_502"
	case 503:
		return "upstream_503"
	case 504:
		return "upstream_504"
	case 529:
		return "upstream_529"
	}
	return "upstream_" + strconv.Itoa(status)
}

// NeverSent reports whether err means the request never reached the
// upstream (it could not be connected to), so that trying it elsewhere
// cannot run it twice.
func NeverSent(err error) bool {
	switch Reason(err) {
	case ReasonConnectRefused, ReasonConnectTimeout, ReasonConnectError:
		return true
	}
	return false
}

// Classify turns a transport failure of an attempt made under ctx into a
// client-facing *apierr.Error carrying a *Failure: timeouts are gateway
// timeouts (504), everything else a bad gateway (502). An error already
// classified is returned as is.
func Classify(ctx context.Context, err error) error {
	var f *Failure
	if errors.As(err, &f) {
		return err
	}
	reason, kind, public := classify(ctx, err)
	if cause := context.Cause(ctx); cause != nil && cause != err && !errors.Is(err, cause) {
		// Keep the cause in the chain (errors.Is(err, ErrIdle)): the
		// transport's error is only "context canceled".
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return &apierr.Error{Kind: kind, Public: public, Err: &Failure{Reason: reason, Err: err}}
}

func classify(ctx context.Context, err error) (string, apierr.Kind, string) {
	if ctx.Err() != nil {
		// The context's cause says who ended the attempt; the transport's
		// own error only says that it ended.
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, ErrFirstByte):
			return ReasonFirstByteTimeout, apierr.GatewayTimeout, "upstream timed out"
		case errors.Is(cause, ErrIdle):
			return ReasonStreamIdle, apierr.GatewayTimeout, "upstream stream idle timeout"
		case errors.Is(cause, ErrDeadline), errors.Is(cause, context.DeadlineExceeded):
			// Ours, or a caller's own deadline (a health probe's, a
			// shadow call's): a timeout either way, not a cancel.
			return ReasonDeadline, apierr.GatewayTimeout, "upstream request deadline exceeded"
		default:
			return ReasonCanceled, apierr.BadGateway, "request canceled"
		}
	}
	var (
		ne net.Error
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
		al tls.AlertError
	)
	switch {
	case isConnectError(err):
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return ReasonConnectRefused, apierr.BadGateway, "upstream unreachable"
		case errors.As(err, &ne) && ne.Timeout():
			return ReasonConnectTimeout, apierr.GatewayTimeout, "upstream unreachable: connect timed out"
		}
		return ReasonConnectError, apierr.BadGateway, "upstream unreachable"
	case errors.As(err, &ne) && ne.Timeout() && err.Error() == tlsHandshakeTimeout:
		return ReasonTLSHandshakeTimeout, apierr.GatewayTimeout, "upstream TLS handshake timed out"
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return ReasonTLSError, apierr.BadGateway, "upstream TLS verification failed"
	case errors.As(err, &rh), errors.As(err, &al):
		return ReasonTLSError, apierr.BadGateway, "upstream TLS failed"
	case errors.As(err, &ne) && ne.Timeout():
		// An injected transport's own ResponseHeaderTimeout, for one.
		return ReasonFirstByteTimeout, apierr.GatewayTimeout, "upstream timed out"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonConnectionReset, apierr.BadGateway, "upstream connection reset"
	}
	return ReasonUpstreamError, apierr.BadGateway, "upstream request failed"
}

// tlsHandshakeTimeout is the message of net/http's unexported
// tlsHandshakeTimeoutError (transport.go), the only mark its
// TLSHandshakeTimeout leaves on the error.
const tlsHandshakeTimeout = "net/http: TLS handshake timeout"

// connectError marks a failure to establish a connection: the request was
// never sent, so another node may safely be tried.
type connectError struct{ err error }

func (e *connectError) Error() string { return "connect: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// isConnectError reports whether err means the request never left: our
// transport's connectError, or a dial *net.OpError from an injected one.
func isConnectError(err error) bool {
	var ce *connectError
	if errors.As(err, &ce) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
