//go:build !unix

package provider

// peekOpen has no portable non-blocking peek here (Windows): an idle
// connection is taken as open, and one the upstream closed meanwhile is
// the retry rule's case (a request that may have reached the upstream is
// not sent twice; its attempt fails and the relay's retry policy decides).
func peekOpen(uintptr) bool { return true }
