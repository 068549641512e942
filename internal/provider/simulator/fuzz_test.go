package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/provider"
)

// FuzzDo checks that any body gets an answer, never a Go error, and that
// every successful stream is well formed and accumulates to the JSON answer.
func FuzzDo(f *testing.F) {
	for _, tc := range answerCases {
		f.Add([]byte(tc.body), tc.hdr[HeaderSimulate], uint8(0))
	}
	f.Add([]byte(`{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":{"type":"x"}}]}]}`), "", uint8(1))
	f.Add([]byte(`{"max_tokens":5,"messages":[{"role":"user","content":null}],"tools":[{"name":"t","input_schema":{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"object","required":["c"]}},"required":["b"]}}}}]}`), "tool_use", uint8(2))
	f.Add([]byte(`{"max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":[]}]}`), "tool_use", uint8(3))
	f.Add([]byte(`{"max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":{"properties":{"a":{"enum":[{"x" : 1}]}}}}]}`), "tool_use", uint8(4))
	f.Add([]byte(`[]`), "", uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, force string, knobs uint8) {
		cfg := config.Simulator{Seed: uint64(knobs)}
		if knobs&1 != 0 {
			cfg.ToolUse = 1
		}
		if knobs&2 != 0 {
			cfg.Text = string(body[:min(len(body), 40)])
		}
		hdr := map[string]string{HeaderSimulate: force}
		op := provider.OpMessages
		if knobs&4 != 0 {
			op = provider.OpCountTokens
		}
		sp, _ := New(Options{Config: cfg, Sleep: noSleep})
		jp, _ := New(Options{Config: cfg, Sleep: noSleep})
		sresp, err := sp.Do(context.Background(), call(op, true, string(body), hdr))
		if err != nil {
			t.Fatal(err)
		}
		jresp, err := jp.Do(context.Background(), call(op, false, string(body), hdr))
		if err != nil {
			t.Fatal(err)
		}
		if sresp.Status != jresp.Status {
			t.Fatalf("stream status %d, JSON status %d", sresp.Status, jresp.Status)
		}
		jb, err := io.ReadAll(jresp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var jm map[string]any
		if err := json.Unmarshal(jb, &jm); err != nil {
			t.Fatalf("JSON body %q: %v", jb, err)
		}
		if sresp.Events == nil {
			sb, _ := io.ReadAll(sresp.Body)
			if !bytes.Equal(sb, jb) {
				t.Fatalf("stream call body %s, JSON call body %s", sb, jb)
			}
			return
		}
		res, err := checkStream(sresp.Events)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(jm, res.Message); diff != "" {
			t.Errorf("(-json +stream):\n%s", diff)
		}
	})
}

// FuzzPlainString checks the fast path for string content against
// encoding/json.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`""`, `"abc"`, `"a\"b"`, `"é🙂"`, "\"\xff\"", `"a"b"`, `"`, "\"\x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := plainString(b)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("plainString(%q) = %q, but encoding/json: %v", b, got, err)
		}
		if got != want {
			t.Errorf("plainString(%q) = %q, encoding/json %q", b, got, want)
		}
	})
}
