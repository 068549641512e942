// Package anthropic holds Anthropic Messages API wire types and helpers that read them without a full decode.
package anthropic
