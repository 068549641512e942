package server

import (
	"strings"
	"testing"

	"github.com/ferrygw/ferry/internal/provider"
)

func TestAnswerText(t *testing.T) {
	for _, tt := range []struct {
		format provider.Format
		body   string
		want   string
	}{
		{provider.FormatAnthropic, `{"content":[{"type":"text","text":"Hi"},{"type":"thinking","thinking":"hm"},{"type":"tool_use","name":"f","input":{"a":1}}]}`, `Hihmf{"a":1}`},
		{provider.FormatOpenAI, `{"choices":[{"message":{"content":"Hi","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}}]}`, `Hif{}`},
		{provider.FormatAnthropic, `not json`, ``},
	} {
		if got := answerText(tt.format, []byte(tt.body)); got != tt.want {
			t.Errorf("answerText(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// FuzzAnswerText: any upstream answer, valid or not, gives a text no
// longer than the answer, without panicking.
func FuzzAnswerText(f *testing.F) {
	f.Add(false, []byte(`{"content":[{"type":"text","text":"Hi"}]}`))
	f.Add(true, []byte(`{"choices":[{"message":{"content":"Hi"}}]}`))
	f.Fuzz(func(t *testing.T, openai bool, b []byte) {
		format := provider.FormatAnthropic
		if openai {
			format = provider.FormatOpenAI
		}
		s := answerText(format, b)
		if len(s) > len(b)*6 && !strings.Contains(string(b), `\u`) {
			t.Fatalf("text of %d bytes from an answer of %d", len(s), len(b))
		}
	})
}
