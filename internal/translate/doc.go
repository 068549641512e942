// Package translate converts between Anthropic's Messages API and OpenAI's
// Chat Completions, both directions, requests, answers and streams, and
// Anthropic's legacy Text Completions. It is pure: no I/O, no logging, no
// context, no clock and no randomness (ids and the time come in from the
// caller: an Env, or a stream's message id). Vendor differences come in as a Profile, which is
// data.
//
// Names say the direction the data moves, <From>To<To><What>:
//
//	Anthropic client, OpenAI-compatible upstream (the openaicompat provider):
//	  AnthropicToOpenAIRequest      the request      anthropic_to_openai_request*.go
//	  OpenAIToAnthropicResponse     the answer       openai_to_anthropic_response.go
//	  OpenAIToAnthropicStream       the stream       openai_to_anthropic_stream*.go
//	OpenAI client, Anthropic canonical format (the relay):
//	  OpenAIToAnthropicRequest      the request      openai_to_anthropic_request*.go
//	  AnthropicToOpenAIResponse     the answer       anthropic_to_openai_response.go
//	  AnthropicToOpenAIError        an error answer  anthropic_to_openai_response.go
//	  AnthropicToOpenAIStream       the stream       anthropic_to_openai_stream.go
//	Legacy Text Completions client (POST /v1/complete):
//	  CompleteToAnthropicRequest    the request      complete_to_anthropic_request.go
//	  AnthropicToCompleteResponse   the answer       anthropic_to_complete.go
//	  AnthropicToCompleteStream     the stream       anthropic_to_complete.go
//
// The three stream translators have one shape: a struct with named state
// (messageStarted-style flags, the open block, tool-call buffers), built by
// New<Direction>Stream, fed one upstream event at a time with Feed, ended
// once with Finish (nil: the upstream ended cleanly, else the error that
// broke it), and drained with Next after each call. Each ends every stream
// it is given with a closing frame: the end marker, or an error event.
// Their types differ only where the formats do (stream_shape_test.go holds
// the shape): OpenAIToAnthropicStream is fed an OpenAI chunk's data and
// yields Anthropic sse.Events, and its Err says why it failed a stream;
// AnthropicToOpenAIStream and AnthropicToCompleteStream are fed Anthropic
// sse.Events, read by one shared reader (anthropic_events.go), and yield
// frames ready to write.
//
// Ids and the time: translate never reads the clock or a random source.
// The caller passes an Env (relay.TranslateEnv in the gateway) to the
// translators that make ids or read the time, and OpenAIToAnthropicStream
// its message id; tests pass fixed ones, so golden files hold exact bytes.
//
// Each request translator returns an info value (RequestInfo,
// OpenAIRequestInfo, CompleteInfo) holding what translating the answer
// needs.
package translate
