package relay

import (
	"time"

	"github.com/ferrygw/ferry/internal/ids"
	"github.com/ferrygw/ferry/internal/translate"
)

// TranslateEnv is the Env the gateway's translations run with (translate
// itself reads no clock and no random source): the one id generator, the
// wall clock.
func TranslateEnv() translate.Env { return translate.Env{ID: ids.New, Now: time.Now} }
