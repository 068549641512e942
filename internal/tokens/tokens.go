// Package tokens holds token counts below both wire packages and every
// translator and provider: Totals, a message's counts in Anthropic's terms
// (anthropic reads them from its usage objects, openai from Chat
// Completions usage, and neither imports the other), and ContextOverflow,
// a context-length refusal in numbers with the sentences clients parse
// (overflow.go), which the providers and the translators share.
package tokens

// Totals are a message's token counts: input (not read from cache),
// output, cache reads and cache writes.
type Totals struct {
	Input, Output, CacheRead, CacheCreation int64
}
