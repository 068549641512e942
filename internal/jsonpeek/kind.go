package jsonpeek

// Kind names the kind of the JSON value b starts with, as
// json.UnmarshalTypeError's Value does: "object", "array", "string",
// "bool", "null" or "number" (for anything else), and "nothing" for an
// empty b. Leading space is not skipped. Decoders of fields that take more
// than one kind switch on it and report a wrong one with it.
func Kind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
