// Package openai holds OpenAI Chat Completions wire types.
//
// The types cover what the gateway sends to OpenAI-compatible upstreams and
// what it reads back: the request (ChatRequest), the answer
// (ChatCompletion), stream chunks (Chunk) and the error envelope
// (ErrorBody). They decode the vendors' variations seen in recorded traffic
// (content as a string or an array of parts, error codes as strings or
// numbers, tool-call arguments as an object instead of a string, nulls
// where OpenAI omits a field) and encode what OpenAI documents.
//
// Encoding never escapes '<', '>' and '&': bodies go to APIs, not into
// HTML, and prompts are full of "<system-reminder>" tags.
package openai
