package provider

import (
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

func TestAnswerHeaderKeep(t *testing.T) {
	in := http.Header{
		"Content-Type": {"application/json"}, "Retry-After": {"3"}, "X-Should-Retry": {"true"},
		"Request-Id": {"req_1"}, "Anthropic-Ratelimit-Requests-Remaining": {"9"},
		"X-Request-Id": {"x1"}, "X-Ratelimit-Remaining-Tokens": {"100"}, "Set-Cookie": {"a=b"},
	}
	a := AnswerHeader{RequestID: "Request-Id", RateLimit: "Anthropic-Ratelimit-", ShouldRetry: true}
	want := http.Header{"Content-Type": {"application/json"}, "Retry-After": {"3"}, "X-Should-Retry": {"true"},
		"Upstream-Request-Id": {"req_1"}, "Anthropic-Ratelimit-Requests-Remaining": {"9"}}
	if got := a.Keep(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Anthropic: %v, want %v", got, want)
	}
	o := AnswerHeader{RequestID: "X-Request-Id", RateLimit: "X-Ratelimit-"}
	want = http.Header{"Content-Type": {"application/json"}, "Retry-After": {"3"},
		"Upstream-Request-Id": {"x1"}, "X-Ratelimit-Remaining-Tokens": {"100"}}
	if got := o.Keep(in); !reflect.DeepEqual(got, want) {
		t.Errorf("OpenAI: %v, want %v", got, want)
	}
}

// TestAnswerHeaderKeepMany: more kept headers than Keep gathers on its
// stack are all kept.
func TestAnswerHeaderKeepMany(t *testing.T) {
	in, want := http.Header{"Server": {"x"}}, http.Header{}
	for i := range 40 {
		k := "Anthropic-Ratelimit-H" + strconv.Itoa(i)
		in[k], want[k] = []string{strconv.Itoa(i)}, []string{strconv.Itoa(i)}
	}
	a := AnswerHeader{RequestID: "Request-Id", RateLimit: "Anthropic-Ratelimit-"}
	if got := a.Keep(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// BenchmarkAnswerHeaderKeep: Anthropic's usual answer headers.
func BenchmarkAnswerHeaderKeep(b *testing.B) {
	in := http.Header{}
	for _, k := range []string{"Content-Type", "Request-Id", "Anthropic-Organization-Id", "Anthropic-Ratelimit-Requests-Limit",
		"Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset", "Anthropic-Ratelimit-Tokens-Limit",
		"Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset", "Cf-Ray", "Server", "Set-Cookie",
		"X-Envoy-Upstream-Service-Time", "Date", "Content-Length"} {
		in[k] = []string{"v"}
	}
	a := &AnswerHeader{RequestID: "Request-Id", RateLimit: "Anthropic-Ratelimit-", ShouldRetry: true}
	b.ReportAllocs()
	for b.Loop() {
		a.Keep(in)
	}
}
