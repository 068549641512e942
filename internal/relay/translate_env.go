package relay

import (
	"crypto/rand"
	"time"

	"github.com/ferrygw/ferry/internal/translate"
)

// TranslateEnv is the Env the gateway's translations run with (translate
// itself reads no clock and no random source): ids from crypto/rand, the
// wall clock.
func TranslateEnv() translate.Env { return translate.Env{ID: randomID, Now: time.Now} }

// randomID is prefix and 26 random base32 characters, which are among the
// characters of Anthropic's ids.
func randomID(prefix string) string { return prefix + rand.Text() }
