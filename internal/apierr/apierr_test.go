package apierr

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestKinds(t *testing.T) {
	type info struct {
		Status        int
		Type          string
		Deterministic bool
	}
	tests := []struct {
		kind Kind
		want info
	}{
		{InvalidRequest, info{400, "invalid_request_error", true}},
		{Authentication, info{401, "authentication_error", true}},
		{Permission, info{403, "permission_error", true}},
		{NotFound, info{404, "not_found_error", true}},
		{MethodNotAllowed, info{405, "invalid_request_error", true}},
		{RequestTimeout, info{408, "timeout_error", false}},
		{RequestTooLarge, info{413, "request_too_large", true}},
		{RateLimit, info{429, "rate_limit_error", false}},
		{Internal, info{500, "api_error", false}},
		{BadGateway, info{502, "api_error", false}},
		{Unavailable, info{503, "api_error", false}},
		{GatewayTimeout, info{504, "api_error", false}},
		{Overloaded, info{529, "overloaded_error", false}},
		{Billing, info{402, "billing_error", true}},
		{ContextLength, info{400, "invalid_request_error", true}},
		{UpstreamTimeout, info{504, "timeout_error", false}},
		{Conflict, info{409, "conflict_error", false}},
	}
	seen := map[Kind]bool{}
	names := map[string]Kind{}
	for _, tc := range tests {
		seen[tc.kind] = true
		t.Run(tc.kind.String(), func(t *testing.T) {
			got := info{tc.kind.Status(), tc.kind.Type(), tc.kind.Deterministic()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kind %d mismatch (-want +got):\n%s", tc.kind, diff)
			}
			name := tc.kind.String()
			if name == "" || name != strings.ToLower(name) || strings.HasPrefix(name, "kind(") {
				t.Errorf("String() = %q, want a stable lowercase name", name)
			}
			if other, dup := names[name]; dup {
				t.Errorf("String() = %q for both %d and %d", name, other, tc.kind)
			}
			names[name] = tc.kind
		})
	}
	// Every defined kind is in the table above: the kinds are dense from 0.
	for k := Kind(0); k < Kind(len(kindInfo)); k++ {
		if !seen[k] {
			t.Errorf("kind %d (%s) is not covered by the table", k, k)
		}
	}
	if len(seen) != len(kindInfo) {
		t.Errorf("table covers %d kinds, package defines %d", len(seen), len(kindInfo))
	}
}

func TestZeroKindIsInternal(t *testing.T) {
	var k Kind
	if k != Internal || k.Status() != 500 {
		t.Errorf("zero Kind = %s (%d), want internal (500)", k, k.Status())
	}
}

func TestUnknownKind(t *testing.T) {
	k := Kind(200)
	got := []any{k.Status(), k.Type(), k.String(), k.Deterministic()}
	want := []any{500, "api_error", "kind(200)", false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown kind mismatch (-want +got):\n%s", diff)
	}
}

func TestNewAndWrap(t *testing.T) {
	e := New(NotFound, "model: %s", "claude-x")
	if diff := cmp.Diff(&Error{Kind: NotFound, Public: "model: claude-x"}, e); diff != "" {
		t.Errorf("New mismatch (-want +got):\n%s", diff)
	}
	if e.Unwrap() != nil {
		t.Errorf("New's Unwrap = %v, want nil", e.Unwrap())
	}

	cause := errors.New("dial tcp: refused")
	w := Wrap(BadGateway, cause, "upstream unreachable")
	if w.Kind != BadGateway || w.Public != "upstream unreachable" || w.Err != cause || w.RetryAfter != 0 {
		t.Errorf("Wrap = %+v", w)
	}
}

func TestErrorAndUnwrap(t *testing.T) {
	cause := errors.New("connection reset")
	tests := []struct {
		name      string
		err       *Error
		wantText  string
		wantCause error
	}{
		{"no cause", &Error{Kind: RateLimit, Public: "slow down"}, "rate_limit: slow down", nil},
		{"with cause", &Error{Kind: BadGateway, Public: "upstream request failed", Err: cause}, "bad_gateway: upstream request failed: connection reset", cause},
		{"internal", &Error{Public: "internal error", Err: io.ErrUnexpectedEOF}, "internal: internal error: unexpected EOF", io.ErrUnexpectedEOF},
		{"retry after does not show", &Error{Kind: Overloaded, Public: "busy", RetryAfter: time.Second}, "overloaded: busy", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.wantText {
				t.Errorf("Error() = %q, want %q", got, tc.wantText)
			}
			if got := tc.err.Unwrap(); got != tc.wantCause {
				t.Errorf("Unwrap() = %v, want %v", got, tc.wantCause)
			}
			if tc.wantCause != nil && !errors.Is(tc.err, tc.wantCause) {
				t.Errorf("errors.Is(err, cause) = false")
			}
		})
	}
}

func TestFrom(t *testing.T) {
	t.Run("wrapped *Error is returned as is", func(t *testing.T) {
		inner := &Error{Kind: RateLimit, Public: "rate limited", RetryAfter: 3 * time.Second}
		wrapped := fmt.Errorf("relay: %w", fmt.Errorf("provider x: %w", inner))
		got := From(wrapped)
		if got != inner {
			t.Fatalf("From(wrapped) = %#v, want the same *Error %p", got, inner)
		}
		if got.Kind.Status() != 429 || got.RetryAfter != 3*time.Second {
			t.Errorf("From(wrapped) = %+v", got)
		}
	})
	t.Run("*Error directly", func(t *testing.T) {
		e := New(Permission, "no")
		if got := From(e); got != e {
			t.Errorf("From(e) = %p, want %p", got, e)
		}
	})
	t.Run("*Error joined", func(t *testing.T) {
		e := New(Overloaded, "busy")
		if got := From(errors.Join(errors.New("other"), e)); got != e {
			t.Errorf("From(join) = %v, want %v", got, e)
		}
	})
	t.Run("plain error becomes Internal", func(t *testing.T) {
		cause := fmt.Errorf("parse: %w", io.ErrUnexpectedEOF)
		got := From(cause)
		if got.Kind != Internal || got.Public != "internal error" || got.Err != cause || got.RetryAfter != 0 {
			t.Errorf("From(plain) = %+v, want Internal, \"internal error\", cause %v", got, cause)
		}
		if !errors.Is(got, io.ErrUnexpectedEOF) {
			t.Errorf("From(plain) lost the cause chain")
		}
		if got.Kind.Status() != 500 || got.Kind.Type() != "api_error" {
			t.Errorf("From(plain) status/type = %d/%s", got.Kind.Status(), got.Kind.Type())
		}
		if strings.Contains(got.Public, "EOF") {
			t.Errorf("public message %q leaks the cause", got.Public)
		}
	})
}
