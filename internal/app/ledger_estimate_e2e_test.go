package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/fakeupstream"
	"github.com/ferrygw/ferry/internal/provider/openaicompat"
	"github.com/ferrygw/ferry/internal/store/storetest"
	"github.com/ferrygw/ferry/internal/usage"
)

// TestLedgerEstimatesWithTokenizer: an upstream answering a whole message
// without usage: the ledger row's input and output are counted with the
// embedded tokenizer (not the byte-size guess, not 0) and marked
// estimated.
func TestLedgerEstimatesWithTokenizer(t *testing.T) {
	st := storetest.SQLite(t, usage.Schema)
	g := newGatewayOpts(t, Options{Store: st})
	answer := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"` +
		strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40) + `"}],"stop_reason":"end_turn","stop_sequence":null}`
	g.Fake.Enqueue(fakeupstream.Reply{Fixture: &fakeupstream.Fixture{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(answer)}})
	body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"` + strings.Repeat("你好，世界。", 50) + `"}]}`
	res, raw := g.rawPost(t, "/v1/messages", body, map[string]string{"X-Api-Key": clientKey, "Anthropic-Version": "2023-06-01"})
	if res.StatusCode != 200 {
		t.Fatalf("%d %s", res.StatusCode, raw)
	}
	if err := g.stop(); err != nil {
		t.Fatal(err)
	}
	var in, out, est int64
	if err := st.QueryRow(context.Background(), nil, `SELECT input_tokens, output_tokens, estimated FROM usage_ledger WHERE endpoint = 'messages'`).Scan(&in, &out, &est); err != nil {
		t.Fatal(err)
	}
	wantIn, _ := openaicompat.CountTokens([]byte(body))
	wantOut, _ := openaicompat.CountText(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40))
	if est != 1 || in != wantIn || out != wantOut || out == 0 {
		t.Errorf("row: input %d, output %d, estimated %d; want %d, %d (the tokenizer's), 1", in, out, est, wantIn, wantOut)
	}
	if in == int64(len(body))/4 {
		t.Errorf("input %d is the byte-size guess, not the tokenizer's count", in)
	}
}
