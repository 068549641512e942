// Package tokens holds Totals, a message's token counts in Anthropic's
// terms, below both wire packages: anthropic reads them from its usage
// objects, openai from Chat Completions usage, and neither imports the
// other.
package tokens

// Totals are a message's token counts: input (not read from cache),
// output, cache reads and cache writes.
type Totals struct {
	Input, Output, CacheRead, CacheCreation int64
}
