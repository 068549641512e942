package server

import (
	"encoding/json"
	"strings"

	"github.com/ferrygw/ferry/internal/provider"
)

// answerText is the text a whole (non-streaming) answer generated, for
// counting its output tokens when the upstream reported no usage: the
// text and thinking of an Anthropic Message's blocks and the input JSON
// of its tool calls; an OpenAI answer's message content and tool-call
// arguments. It decodes b, so it runs only for answers without usage.
func answerText(format provider.Format, b []byte) string {
	var sb strings.Builder
	if format == provider.FormatOpenAI {
		var m struct {
			Choices []struct {
				Message struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"message"`
			} `json:"choices"`
		}
		if json.Unmarshal(b, &m) != nil {
			return ""
		}
		for _, c := range m.Choices {
			sb.WriteString(c.Message.Content)
			for _, tc := range c.Message.ToolCalls {
				sb.WriteString(tc.Function.Name)
				sb.WriteString(tc.Function.Arguments)
			}
		}
		return sb.String()
	}
	var m struct {
		Content []struct {
			Text     string          `json:"text"`
			Thinking string          `json:"thinking"`
			Name     string          `json:"name"`
			Input    json.RawMessage `json:"input"`
		} `json:"content"`
	}
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	for _, c := range m.Content {
		sb.WriteString(c.Text)
		sb.WriteString(c.Thinking)
		sb.WriteString(c.Name)
		sb.Write(c.Input)
	}
	return sb.String()
}
