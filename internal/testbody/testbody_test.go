package testbody

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestClaudeCode(t *testing.T) {
	b := ClaudeCode("claude-sonnet-4-5")
	if len(b) < MinSize {
		t.Errorf("body is %d bytes, want at least %d", len(b), MinSize)
	}
	if !json.Valid(b) {
		t.Fatal("body is not valid JSON")
	}
	if want := `{"model":"claude-sonnet-4-5",`; !strings.HasPrefix(string(b), want) {
		t.Errorf("body starts %q, want %q", b[:40], want)
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		t.Error("body ends in a newline")
	}
	if !bytes.Contains(b, []byte("<system-reminder>")) {
		t.Error("body escapes '<'")
	}
	var v struct {
		Stream bool
		Tools  []json.RawMessage
		System []json.RawMessage
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if !v.Stream || len(v.Tools) != 24 || len(v.System) != 3 {
		t.Errorf("stream %v, %d tools, %d system blocks", v.Stream, len(v.Tools), len(v.System))
	}
	if !bytes.Equal(b, ClaudeCode("claude-sonnet-4-5")) {
		t.Error("ClaudeCode is not deterministic")
	}
}
