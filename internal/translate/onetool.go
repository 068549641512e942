package translate

import (
	"errors"
	"strconv"
	"strings"
)

// ExtraToolCallsError names the tool calls dropped from an answer to a
// request that set tool_choice.disable_parallel_tool_use: the upstream
// called more than one tool (it has no parallel_tool_calls, or ignored it),
// and the client asked for at most one. Like *ToolArgumentsError it comes
// with a complete body: send the body, and log the error.
type ExtraToolCallsError struct {
	Names []string // the dropped calls' tool names, in order
}

func (e *ExtraToolCallsError) Error() string {
	return "disable_parallel_tool_use: kept the first tool call, dropped " + strconv.Itoa(len(e.Names)) + " more (" + strings.Join(e.Names, ", ") + ")"
}

// IsNote reports whether err, returned by Response with a body, only notes
// a repair (*ToolArgumentsError, *ExtraToolCallsError, or both joined):
// the body is complete and should be sent, and err logged.
func IsNote(err error) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !IsNote(e) {
				return false
			}
		}
		return true
	}
	var bad *ToolArgumentsError
	var extra *ExtraToolCallsError
	return errors.As(err, &bad) || errors.As(err, &extra)
}
