package apierr

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendBody(t *testing.T) {
	tests := []struct {
		p    Protocol
		k    Kind
		msg  string
		id   string
		want string
	}{
		{Anthropic, NotFound, "Not found: GET /x", "req_1", `{"type":"error","error":{"type":"not_found_error","message":"Not found: GET /x"},"request_id":"req_1"}`},
		{Anthropic, Billing, `a "b" < c`, "", `{"type":"error","error":{"type":"billing_error","message":"a \"b\" < c"}}`},
		{OpenAI, RateLimit, "slow down", "req_1", `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}`},
		{OpenAI, Overloaded, "busy", "", `{"error":{"message":"busy","type":"server_error","param":null,"code":null}}`},
		{OpenAI, MethodNotAllowed, "no", "", `{"error":{"message":"no","type":"invalid_request_error","param":null,"code":null}}`},
	}
	for _, tt := range tests {
		got := string(AppendBody(nil, tt.p, tt.k, tt.msg, tt.id))
		if got != tt.want {
			t.Errorf("AppendBody(%d, %v) = %s, want %s", tt.p, tt.k, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON %s", got)
		}
	}
}

// TestOpenAITypes holds each kind's OpenAI error.type and whether an
// upstream's error of the kind tells the client not to retry (TestKinds
// holds the rest of the table).
func TestOpenAITypes(t *testing.T) {
	type row struct {
		OpenAIType string
		NoRetry    bool
	}
	got := map[Kind]row{}
	for k := Kind(0); k < Kind(len(kindInfo)); k++ {
		got[k] = row{k.OpenAIType(), k.NeedsOperator()}
	}
	want := map[Kind]row{
		Internal: {"server_error", false}, InvalidRequest: {"invalid_request_error", false},
		Authentication: {"authentication_error", true}, Permission: {"permission_error", true},
		NotFound: {"not_found_error", false}, RequestTooLarge: {"invalid_request_error", false},
		RateLimit: {"rate_limit_error", false}, BadGateway: {"server_error", false},
		GatewayTimeout: {"server_error", false}, Overloaded: {"server_error", false},
		Unavailable: {"server_error", false}, MethodNotAllowed: {"invalid_request_error", false},
		RequestTimeout: {"invalid_request_error", false}, Billing: {"insufficient_quota", true},
		ContextLength: {"invalid_request_error", false}, UpstreamTimeout: {"server_error", false},
		Conflict: {"invalid_request_error", false},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("OpenAI types (-want +got):\n%s", d)
	}
	if k := Kind(200); k.OpenAIType() != "server_error" {
		t.Errorf("unknown kind: %s", k.OpenAIType())
	}
}

func BenchmarkAppendBody(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendBody(buf[:0], Anthropic, RateLimit, "Rate limited: 60 requests per minute", "req_0123456789abcdefghijklmn")
	}
}
