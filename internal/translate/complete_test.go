package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCompleteGolden runs the golden files in testdata/complete:
//
//	request.json  → CompleteToAnthropicRequest; want anthropic.json + info.json, or error
//	message.json  → AnthropicToCompleteResponse (info.json: the CompleteInfo); want completion.json
//	anthropic.sse → AnthropicToCompleteStream (info.json; end: eof|error|none); want completion.sse
func TestCompleteGolden(t *testing.T) {
	oiGolden(t, "complete", func(t *testing.T, files map[string][]byte) map[string][]byte {
		switch {
		case files["request.json"] != nil:
			body, info, err := CompleteToAnthropicRequest(files["request.json"], goldenEnv())
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not a *Error", err)
				}
				return map[string][]byte{"error": []byte(err.Error())}
			}
			oiCheckAnthropicBody(t, body)
			ib, _ := json.MarshalIndent(info, "", "  ")
			return map[string][]byte{"anthropic.json": oiIndent(body), "info.json": ib}
		case files["message.json"] != nil:
			var info CompleteInfo
			oiReadInfo(t, files, &info)
			out, err := AnthropicToCompleteResponse(files["message.json"], &info)
			if err != nil {
				return map[string][]byte{"error": []byte(err.Error())}
			}
			return map[string][]byte{"completion.json": oiIndent(out)}
		case files["anthropic.sse"] != nil:
			var info CompleteInfo
			oiReadInfo(t, files, &info)
			s := NewAnthropicToCompleteStream(&info)
			end := string(files["end"])
			out := oiFeedAll(t, files["anthropic.sse"], end, s.Feed, s.Finish, s.Next)
			if err := cpCheckFrames(out, strings.TrimSpace(end) != "none"); err != nil {
				t.Errorf("malformed output: %v\n%s", err, out)
			}
			return map[string][]byte{"completion.sse": out}
		}
		t.Fatal("no input section")
		return nil
	})
}

// cpCheckFrames checks a legacy completion stream: every frame is
// "event: completion|ping|error\ndata: <one-line JSON>\n\n"; completion
// events are well-typed, at most one has a stop_reason and nothing but an
// error follows it; an error is the last frame; and if ended, the stream
// ends with an error or a final completion.
func cpCheckFrames(out []byte, ended bool) error {
	if !utf8.Valid(out) {
		return errors.New("output is not valid UTF-8")
	}
	if len(out) == 0 {
		if ended {
			return errors.New("ended stream has no frames")
		}
		return nil
	}
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		return errors.New("output does not end with a frame boundary")
	}
	frames := strings.Split(string(out[:len(out)-2]), "\n\n")
	final, failed := false, false
	for i, f := range frames {
		if failed {
			return fmt.Errorf("frame %d after the error: %q", i, f)
		}
		lines := strings.Split(f, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			return fmt.Errorf("frame %d is not event + data: %q", i, f)
		}
		name, data := lines[0][len("event: "):], lines[1][len("data: "):]
		var v struct {
			Type       string  `json:"type"`
			ID         *string `json:"id"`
			Completion *string `json:"completion"`
			StopReason *string `json:"stop_reason"`
			Model      *string `json:"model"`
			Error      *struct {
				Type, Message string
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return fmt.Errorf("frame %d: %v: %q", i, err, data)
		}
		if v.Type != name {
			return fmt.Errorf("frame %d: event %q carries type %q", i, name, v.Type)
		}
		switch name {
		case "completion":
			if final {
				return fmt.Errorf("frame %d: completion after the final one", i)
			}
			if v.ID == nil || v.Completion == nil || v.Model == nil {
				return fmt.Errorf("frame %d lacks id/completion/model: %q", i, data)
			}
			if v.StopReason != nil {
				final = true
				if *v.Completion != "" {
					return fmt.Errorf("frame %d: final completion with text", i)
				}
			}
		case "ping":
		case "error":
			if v.Error == nil || v.Error.Type == "" || v.Error.Message == "" {
				return fmt.Errorf("frame %d: error without type or message", i)
			}
			failed = true
		default:
			return fmt.Errorf("frame %d: unknown event %q", i, name)
		}
	}
	if ended && !final && !failed {
		return errors.New("ended stream has neither a final completion nor an error")
	}
	return nil
}

func TestCompletePromptLinear(t *testing.T) {
	// Many markers of one kind and none of the other must not make the
	// scan quadratic; this is a smoke test that it finishes quickly.
	p := strings.Repeat("\n\nHuman: x", 50000) + "\n\nAssistant:"
	_, turns, err := cpParsePrompt(p)
	if err != nil || len(turns) != 1 || strings.Count(turns[0].Content, "x") != 50000 {
		t.Fatalf("turns %d, err %v", len(turns), err)
	}
}

func FuzzComplete(f *testing.F) {
	oiSeed(f, "complete")
	f.Add([]byte(`{"model":"claude-2.1","prompt":"\n\nHuman: Hello\n\nAssistant:","max_tokens_to_sample":300}`), []byte(nil))
	f.Fuzz(func(t *testing.T, body, stream []byte) {
		if out, info, err := CompleteToAnthropicRequest(body, goldenEnv()); err == nil {
			oiCheckAnthropicBody(t, out)
			if info == nil || info.Model == "" {
				t.Fatalf("info %+v", info)
			}
		} else if _, ok := err.(*Error); !ok {
			t.Fatalf("error %T %v is not a *Error", err, err)
		}
		if out, err := AnthropicToCompleteResponse(body, &CompleteInfo{Model: "m"}); err == nil {
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("AnthropicToCompleteResponse: invalid output %q", out)
			}
		}
		end := "eof"
		if len(stream)%3 == 1 {
			end = "error"
		}
		for _, prefill := range []bool{false, true} {
			s := NewAnthropicToCompleteStream(&CompleteInfo{Model: "m\xff", Prefill: prefill})
			out := oiFeedAll(t, stream, end, s.Feed, s.Finish, s.Next)
			if err := cpCheckFrames(out, true); err != nil {
				t.Fatalf("%v\n%q", err, out)
			}
		}
	})
}

// TestCompleteEnvID: an answer without an id gets the Env's id.
func TestCompleteEnvID(t *testing.T) {
	_, info, err := CompleteToAnthropicRequest([]byte(`{"model":"m","prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":5}`), goldenEnv())
	if err != nil {
		t.Fatal(err)
	}
	out, err := AnthropicToCompleteResponse([]byte(`{"type":"message","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn"}`), info)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"id":"compl_RANDOM"`) {
		t.Errorf("%s", out)
	}
}
