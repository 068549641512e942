package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// MaxPromptLine bounds one line of a replay file.
const MaxPromptLine = 8 << 20

// ReadPrompts reads a replay file: JSON Lines, each either an Anthropic
// Messages request body (an object with "messages") or {"prompt": "..."}
// (optionally with "max_tokens"). Blank lines and lines starting with #
// are skipped. It returns one request body per prompt, without "model" and
// "stream" (Replay sets them), and every bad line's problem with its line
// number.
func ReadPrompts(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxPromptLine)
	var (
		out  [][]byte
		errs []error
	)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		body, err := promptBody(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		out = append(out, body)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read: %w", err))
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no prompts"))
	}
	return out, errors.Join(errs...)
}

// promptBody turns one line into a request body without model and stream.
func promptBody(line []byte) ([]byte, error) {
	var hasMessages, hasMax bool
	var prompt []byte
	body := []byte{'{'}
	err := jsonpeek.Object(line, func(key []byte, start, end int) bool {
		switch string(key) {
		case "model", "stream":
			return true
		case "messages":
			hasMessages = true
		case "max_tokens":
			hasMax = true
		case "prompt":
			prompt = line[start:end]
			return true
		}
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = jsonpeek.AppendStringBytes(body, key)
		body = append(body, ':')
		body = append(body, line[start:end]...)
		return true
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("not a JSON object: %w", err)
	case hasMessages == (prompt != nil):
		return nil, errors.New(`want either "messages" (a Messages request) or "prompt"`)
	case prompt != nil:
		if _, err := jsonpeek.String(prompt); err != nil {
			return nil, errors.New(`"prompt" is not a string`)
		}
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = append(body, `"messages":[{"role":"user","content":`...)
		body = append(body, prompt...)
		body = append(body, "}]"...)
	}
	if !hasMax {
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = append(body, `"max_tokens":1024`...)
	}
	return append(body, '}'), nil
}

// withModel is body with "model" set and "stream":false.
func withModel(body []byte, model string) []byte {
	b := make([]byte, 0, len(body)+len(model)+32)
	b = append(b, `{"model":`...)
	b = jsonpeek.AppendString(b, model)
	b = append(b, `,"stream":false,`...)
	return append(b, body[1:]...)
}
