package provider

import (
	"net/http"
	"reflect"
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
