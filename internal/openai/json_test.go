package openai

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// TestScalarDecoders pins what the fields taking a string or another kind
// decode to, and their errors, inside a document as encoding/json hands
// them over.
func TestScalarDecoders(t *testing.T) {
	type doc struct {
		Content Content   `json:"content"`
		Stop    Stop      `json:"stop"`
		Code    ErrorCode `json:"code"`
	}
	tests := []struct {
		in   string
		want doc
		err  string
	}{
		{`{"content":null,"stop":null,"code":null}`, doc{}, ""},
		{`{"content":"a\u00e9\ud800","stop":"x","code":"c"}`, doc{Content: Content{Text: "aé\ufffd"}, Stop: Stop{"x"}, Code: "c"}, ""},
		{`{"content":"","stop":"","code":""}`, doc{Stop: Stop{""}}, ""},
		{`{"content":[{"type":"text","text":"t"}],"stop":["a","b"],"code":-12.5}`,
			doc{Content: Content{Parts: []Part{{Type: PartText, Text: "t"}}}, Stop: Stop{"a", "b"}, Code: "-12.5"}, ""},
		{`{"content":[]}`, doc{Content: Content{Parts: []Part{}}}, ""},
		{`{"content":5}`, doc{}, "json: cannot unmarshal number into Go struct field doc.content of type openai.Content"},
		{`{"content":{}}`, doc{}, "json: cannot unmarshal object into Go struct field doc.content of type openai.Content"},
		{`{"content":[5]}`, doc{}, "json: cannot unmarshal number into Go struct field doc.content of type openai.Part"},
		{`{"stop":true}`, doc{}, "json: cannot unmarshal bool into Go struct field doc.stop of type openai.Stop"},
		{`{"stop":[5]}`, doc{}, "json: cannot unmarshal array into Go struct field doc.stop of type openai.Stop"},
		{`{"code":{}}`, doc{}, "json: cannot unmarshal object into Go struct field doc.code of type openai.ErrorCode"},
		{`{"code":false}`, doc{}, "json: cannot unmarshal bool into Go struct field doc.code of type openai.ErrorCode"},
	}
	for _, tt := range tests {
		var got doc
		err := json.Unmarshal([]byte(tt.in), &got)
		if fmt.Sprint(err) != fmt.Sprint(tt.err) && !(err == nil && tt.err == "") {
			t.Errorf("%s: error %v, want %q", tt.in, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
