package translate

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ferrygw/ferry/internal/jsonpeek"
)

// rqStripRef is the schema walk as it was before rqSchema validated once
// and skimmed: every level validated with jsonpeek.Object. The test holds
// the two to the same output.
func rqStripRef(dst []byte, v []byte, strip map[string]bool, depth int) []byte {
	if depth > rqMaxSchemaDepth || len(v) == 0 || v[0] != '{' {
		return append(dst, v...)
	}
	return rqStripObjectRef(dst, v, strip, depth, 0)
}

// rqStripObject appends object v: a schema (kind 0), whose keys in strip
// are dropped, or an object of schemas (kind 'm'), whose keys are names.
func rqStripObjectRef(dst, v []byte, strip map[string]bool, depth int, kind byte) []byte {
	start := len(dst)
	dst = append(dst, '{')
	first := true
	err := jsonpeek.Object(v, func(key []byte, s, e int) bool {
		val := v[s:e]
		k := string(key)
		if kind == 0 && strip[k] {
			return true
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonpeek.AppendString(dst, k)
		dst = append(dst, ':')
		sub := byte('s') // in an object of schemas, every value is one
		if kind == 0 {
			sub = rqSubschemas[k]
		}
		switch {
		case sub == 's':
			dst = rqStripRef(dst, val, strip, depth+1)
		case sub == 'm' && len(val) > 0 && val[0] == '{' && depth < rqMaxSchemaDepth:
			dst = rqStripObjectRef(dst, val, strip, depth+1, 'm')
		case sub == 'l' && len(val) > 0 && val[0] == '[':
			dst = rqStripListRef(dst, val, strip, depth+1)
		default:
			dst = append(dst, val...)
		}
		return true
	})
	if err != nil { // not an object jsonpeek takes (too deep): keep it as is
		return append(dst[:start], v...)
	}
	return append(dst, '}')
}

func rqStripListRef(dst, v []byte, strip map[string]bool, depth int) []byte {
	if depth > rqMaxSchemaDepth {
		return append(dst, v...)
	}
	start := len(dst)
	dst = append(dst, '[')
	first := true
	err := jsonpeek.Array(v, func(s, e int) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = rqStripRef(dst, v[s:e], strip, depth)
		return true
	})
	if err != nil { // not an array jsonpeek takes (too deep): keep it as is
		return append(dst[:start], v...)
	}
	return append(dst, ']')
}

var rqStripSeeds = []string{
	`{"type":"object","properties":{"a":{"type":"string","format":"uri","default":"x"}},"$schema":"s","additionalProperties":false}`,
	`{"t\u0079pe":"object","properties":{"d\u00e9f":{"default":1,"anyOf":[{"format":"x"},{"items":{"format":"y"}}]}}}`,
	`{"properties":{"\xff":{"format":"x"}},"format":"x"}`,
	`{"allOf":[1,"a",{"format":"x"}],"items":[{"format":"x"}],"not":{"format":"x"},"$defs":{"a":{"format":"x"}}}`,
	`{ "type" : "object" , "properties" : { "a" : { "format" : "x" , "enum" : [ 1 , 2 ] } } }`,
	`[{"format":"x"}]`,
	`"x"`,
}

func rqStripCompare(t *testing.T, schema []byte) {
	t.Helper()
	strip := map[string]bool{"format": true, "default": true, "$schema": true}
	if len(schema) == 0 || string(schema) == "null" {
		return
	}
	got := rqSchema(schema, strip)
	want := rqStripRef(nil, schema, strip, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("%q:\ngot  %s\nwant %s", schema, got, want)
	}
}

func TestSchemaStripMatchesValidatingWalk(t *testing.T) {
	for _, s := range rqStripSeeds {
		rqStripCompare(t, []byte(s))
	}
	for _, b := range rqDecodeBodies(t) {
		var r struct {
			Tools []struct {
				InputSchema json.RawMessage `json:"input_schema"`
			} `json:"tools"`
		}
		if json.Unmarshal(b, &r) == nil {
			for _, tl := range r.Tools {
				rqStripCompare(t, tl.InputSchema)
			}
		}
	}
}

func FuzzSchemaStrip(f *testing.F) {
	for _, s := range rqStripSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		if !json.Valid(schema) {
			return // rqSchema gets a tool's input_schema from a validated body
		}
		rqStripCompare(t, bytes.TrimSpace(schema))
	})
}
