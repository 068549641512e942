package openaicompat_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/ferrygw/ferry/internal/convert"
	"github.com/ferrygw/ferry/internal/fakeupstream"
)

// TestPreparedOncePerTarget: a call prepared once (the relay does it per
// target) is sent as prepared by every attempt: its Anthropic body is not
// translated again, so an attempt sends the same bytes even when the body
// it would translate changed.
func TestPreparedOncePerTarget(t *testing.T) {
	fake := newFake(t)
	f := loadFixture(t, "deepseek_message")
	fake.SetDefault(fakeupstream.Reply{Fixture: f.reply})
	p := newTestProvider(t, "deepseek", fake.URL)
	c := anthropicCall("deepseek-chat", f.request(t, "deepseek-chat", false), false)
	convert.Prepare(p, c)
	if c.Prepared == nil {
		t.Fatal("Prepare left the call unprepared")
	}
	c.Body = []byte(`{"model":"m","max_tokens":10,"messages":"not translatable"}`)
	var sent [][]byte
	for i := range 2 {
		resp, err := do(context.Background(), p, c)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		readAll(t, resp)
		resp.Close()
		if resp.Status != 200 {
			t.Fatalf("attempt %d: status %d, want 200 (the prepared body)", i, resp.Status)
		}
		sent = append(sent, fake.Last().Body)
	}
	if !bytes.Equal(sent[0], sent[1]) || !bytes.Contains(sent[0], []byte(`"deepseek-chat"`)) {
		t.Errorf("attempts sent %s and %s, want the same prepared body", sent[0], sent[1])
	}

}
