package openaicompat

import (
	"strings"
	"time"

	"github.com/ferrygw/ferry/internal/translate"
)

// translateEnv is the Env this provider's translations run with (translate
// itself reads no clock and no random source): ids in the shape of
// Anthropic's (newMessageID), the wall clock.
func translateEnv() translate.Env {
	return translate.Env{
		ID:  func(prefix string) string { return prefix + strings.TrimPrefix(newMessageID(), "msg_") },
		Now: time.Now,
	}
}
