package translate

import (
	"strings"
	"time"
)

// Env is what a translation would otherwise take from the world outside
// it: fresh ids and the current time. translate never reads the clock or a
// random source itself; the gateway passes real ones (the relay's
// TranslateEnv), tests pass fixed ones, which keeps golden files exact
// without post-processing.
//
// A zero Env (or a nil field) gives fixed values: ids of the prefix and
// "0", time 0. That is for tests and tools; the gateway always passes
// both.
type Env struct {
	// ID returns a new unique id that starts with prefix ("msg_",
	// "toolu_", "chatcmpl-"), in the characters of Anthropic's ids
	// ([0-9A-Za-z_-]).
	ID func(prefix string) string
	// Now returns the current time.
	Now func() time.Time
}

// answerID makes the id of an answer in a client's format from the
// Anthropic message's id: "msg_01X…" becomes prefix+"01X…"; a missing id
// gets a new one from env.
func answerID(prefix, msgID string, env Env) string {
	if msgID = strings.TrimPrefix(msgID, "msg_"); msgID == "" {
		return env.id(prefix)
	}
	return prefix + msgID
}

func (e Env) id(prefix string) string {
	if e.ID == nil {
		return prefix + "0"
	}
	return e.ID(prefix)
}

func (e Env) unix() int64 {
	if e.Now == nil {
		return 0
	}
	return e.Now().Unix()
}
