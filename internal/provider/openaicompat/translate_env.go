package openaicompat

import (
	"time"

	"github.com/ferrygw/ferry/internal/ids"
	"github.com/ferrygw/ferry/internal/translate"
)

// translateEnv is the Env this provider's translations run with (translate
// itself reads no clock and no random source): the one id generator, the
// wall clock.
func translateEnv() translate.Env { return translate.Env{ID: ids.New, Now: time.Now} }
