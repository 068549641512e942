package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"
)

// TestLocales checks that the console's word tables parse and carry the
// same keys, nested ones included: a key missing from zh.json would show
// English in a Chinese page, one missing from en.json would show the key.
func TestLocales(t *testing.T) {
	h := Handler("/console/")
	tables := map[string]map[string]any{}
	for _, lang := range []string{"en", "zh"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/locales/"+lang+".json", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s.json: status %d", lang, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s.json: Content-Type %q", lang, ct)
		}
		var words map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &words); err != nil {
			t.Fatalf("%s.json: %v", lang, err)
		}
		tables[lang] = words
	}
	if en, zh := keys(tables["en"], ""), keys(tables["zh"], ""); !reflect.DeepEqual(en, zh) {
		t.Errorf("en.json and zh.json have different keys:\nen %v\nzh %v", en, zh)
	}
}

// keys lists the dotted paths of every string in words.
func keys(words map[string]any, prefix string) []string {
	var out []string
	for k, v := range words {
		switch v := v.(type) {
		case map[string]any:
			out = append(out, keys(v, prefix+k+".")...)
		case string:
			out = append(out, prefix+k)
		default:
			out = append(out, prefix+k+": not a string")
		}
	}
	sort.Strings(out)
	return out
}
