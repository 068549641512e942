package jsonpeek

// Array checks that b holds exactly one JSON array, optionally surrounded
// by whitespace, and calls fn with the span of each of its elements in
// order, b[start:end] exactly as written. As with Object, fn returning false
// stops the walk (the rest of b is then not validated), fn may be nil, and
// nothing is allocated unless b is malformed.
func Array(b []byte, fn func(start, end int) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) {
		return errEOF(i)
	}
	if b[i] != '[' {
		return errChar(b[i], "looking for beginning of array", i)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return end(b, i+1)
	}
	for {
		start := i
		var err error
		if i, err = scanValue(b, i, 1); err != nil {
			return err
		}
		if fn != nil && !fn(start, i) {
			return nil
		}
		var done bool
		if i, done, err = sep(b, i, ']', "after array element"); done || err != nil {
			return err
		}
	}
}
