package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/ferrygw/ferry/internal/apierr"
)

type timeout struct{}

func (timeout) Error() string   { return "i/o timeout" }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

// canceled returns a context ended with cause (nil: a plain cancel).
func canceled(cause error) context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx
}

func TestClassify(t *testing.T) {
	bg := context.Background()
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		reason string
		kind   apierr.Kind
	}{
		{"refused", bg, &connectError{dial(syscall.ECONNREFUSED)}, ReasonConnectRefused, apierr.BadGateway},
		{"refused, injected transport", bg, dial(syscall.ECONNREFUSED), ReasonConnectRefused, apierr.BadGateway},
		{"connect timeout", bg, &connectError{dial(timeout{})}, ReasonConnectTimeout, apierr.GatewayTimeout},
		{"no such host", bg, &connectError{dial(&net.DNSError{Err: "no such host", Name: "x"})}, ReasonConnectError, apierr.BadGateway},
		{"TLS handshake timeout", bg, tlsTimeout{}, ReasonTLSHandshakeTimeout, apierr.GatewayTimeout},
		{"unknown authority", bg, x509.UnknownAuthorityError{}, ReasonTLSError, apierr.BadGateway},
		{"reset", bg, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, ReasonConnectionReset, apierr.BadGateway},
		{"EOF before headers", bg, io.ErrUnexpectedEOF, ReasonConnectionReset, apierr.BadGateway},
		{"header timeout of an injected transport", bg, timeout{}, ReasonFirstByteTimeout, apierr.GatewayTimeout},
		{"first byte", canceled(ErrFirstByte), context.Canceled, ReasonFirstByteTimeout, apierr.GatewayTimeout},
		{"idle", canceled(ErrIdle), context.Canceled, ReasonStreamIdle, apierr.GatewayTimeout},
		{"deadline", canceled(ErrDeadline), context.Canceled, ReasonDeadline, apierr.GatewayTimeout},
		{"client", canceled(nil), context.Canceled, ReasonCanceled, apierr.BadGateway},
		{"other", bg, errors.New("weird"), ReasonUpstreamError, apierr.BadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify(tt.ctx, tt.err)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Kind != tt.kind || Reason(err) != tt.reason {
				t.Errorf("Classify = %v (reason %s), want %s %s", err, Reason(err), tt.kind, tt.reason)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the cause is lost: %v", err)
			}
			if Classify(tt.ctx, err) != err {
				t.Errorf("classifying twice changed the error")
			}
		})
	}
	// The context's cause stays in the chain.
	if err := Classify(canceled(ErrIdle), context.Canceled); !errors.Is(err, ErrIdle) {
		t.Errorf("%v does not wrap ErrIdle", err)
	}
	if !NeverSent(Classify(bg, dial(syscall.ECONNREFUSED))) || NeverSent(Classify(bg, io.EOF)) {
		t.Error("NeverSent")
	}
}

type tlsTimeout struct{}

func (tlsTimeout) Error() string   { return tlsHandshakeTimeout }
func (tlsTimeout) Timeout() bool   { return true }
func (tlsTimeout) Temporary() bool { return true }

func TestReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&Failure{Reason: "x", Err: io.EOF}, "x"},
		{apierr.New(apierr.NotFound, "no"), "not_found"},
		{errors.New("bare"), ReasonUpstreamError},
	} {
		if got := Reason(c.err); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	for status, want := range map[int]string{529: "upstream_529", 418: "upstream_418", 500: "upstream_500"} {
		if got := HTTPReason(status); got != want {
			t.Errorf("HTTPReason(%d) = %q", status, got)
		}
	}
}
