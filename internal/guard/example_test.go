package guard_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/guard"
	"github.com/ferrygw/ferry/internal/sse"
)

type nopCloser struct{ *sse.Reader }

func (nopCloser) Close() error { return nil }

// The life of one request through the guard, as the server and relay are
// to use it: the policy resolved for the route, key and tag; the request
// rewritten before it is forwarded; the upstream's Anthropic events
// filtered before they reach the client (or a translator).
func Example() {
	cfg := config.Guard{PII: map[string]string{"phone": "pseudonymize", "secret": "block"}}
	g, err := guard.FromConfig(cfg.Resolve(nil, "", ""), nil)
	if err != nil {
		panic(err)
	}

	body, res, err := g.Request([]byte(`{"model":"m","messages":[{"role":"user","content":"Text 13812345678 that I am late"}]}`))
	var blocked *guard.BlockedError
	if errors.As(err, &blocked) {
		fmt.Println("400:", blocked) // apierr invalid_request_error, x-should-retry: false
		return
	}
	fmt.Println("upstream sees:", string(body))

	upstream := "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Sending to <PHO\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"NE_1> now.\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	var src sse.Source = nopCloser{sse.NewReader(strings.NewReader(upstream), 1<<16)}
	if a := g.Answer(res.Pseudonyms); a != nil {
		src = a.Source(src)
	}
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		fmt.Println("client gets:", string(ev.Data))
	}
	for k, n := range res.Tally {
		fmt.Printf("ferry_guard_matches_total{category=%q,action=%q} += %d\n", k.Category, k.Action, n)
	}
	// Output:
	// upstream sees: {"model":"m","messages":[{"role":"user","content":"Text <PHONE_1> that I am late"}]}
	// client gets: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sending to "}}
	// client gets: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"13812345678 now."}}
	// client gets: {"type":"content_block_stop","index":0}
	// ferry_guard_matches_total{category="phone",action="pseudonymize"} += 1
}
