package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"A": "alpha", "EMPTY": "", "N": "42"})
	tests := []struct {
		in, want string
		blanks   []blankVar
		wantErr  string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-${N}-y", want: "x-alpha-42-y"},
		{in: "${MISSING}", want: "", blanks: []blankVar{{"MISSING", false}}},
		{in: "${EMPTY}", want: "", blanks: []blankVar{{"EMPTY", true}}},
		{in: "${MISSING:-dflt}", want: "dflt"},
		{in: "${EMPTY:-dflt}", want: "dflt"},
		{in: "${A:-dflt}", want: "alpha"},
		{in: "${MISSING:-}", want: ""},
		{in: "${MISSING:-a:-b}", want: "a:-b"},
		{in: "$${A}", want: "${A}"},
		{in: "cost: $${A} and ${A}", want: "cost: ${A} and alpha"},
		{in: "$$${A}", want: "$${A}"},
		{in: "$A $ ${A}$", want: "$A $ alpha$"},
		{in: "{A}", want: "{A}"},
		{in: "a ${A", wantErr: "unterminated ${: close it with }, or write $${ for a literal ${"},
		{in: "${", wantErr: "unterminated ${: close it with }, or write $${ for a literal ${"},
		{in: "${}", wantErr: "${...} must hold a variable name (letters, digits and _, not starting with a digit), optionally followed by :-default; write $${ for a literal ${"},
		{in: "${1A}", wantErr: "${...} must hold a variable name (letters, digits and _, not starting with a digit), optionally followed by :-default; write $${ for a literal ${"},
		{in: "${A-b}", wantErr: "${...} must hold a variable name (letters, digits and _, not starting with a digit), optionally followed by :-default; write $${ for a literal ${"},
		{in: "${A:-${B}}", wantErr: "${A:-...}: a default cannot contain another ${"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, blanks, err := expand(tt.in, env)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.blanks, blanks); diff != "" {
				t.Errorf("blanks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseInterpolation checks ${VAR} through Parse: values, types,
// escapes, and the problems an unset or malformed variable makes.
func TestParseInterpolation(t *testing.T) {
	env := envOf(map[string]string{
		"KEY":    "sk-from-env-0123456789",
		"LISTEN": "127.0.0.1:9999",
		"TPS":    "25",
		"FIRST":  "150ms",
		"NULLY":  "null",
		"NUMBER": "0123",
		"EMPTY":  "",
	})
	const head = "providers:\n  - name: sim\n    type: simulator\n    simulator:\n"
	const tail = "routes:\n  - match: \"*\"\n    targets: [{provider: sim}]\n"

	t.Run("values and types", func(t *testing.T) {
		src := `listen: ${LISTEN}
admin:
  listen: ${ADMIN_LISTEN:-127.0.0.1:7777}
keys:
  - name: a
    key: ${KEY}
  - name: ${NULLY}
    key: sk-b-0123456789abcdef
  - name: '${NUMBER}'
    key: sk-c-0123456789abcdef
` + head + `      text: "price: $${PRICE}, key ${MISSING:-none}"
      tokens_per_second: ${TPS}
      first_token: ${FIRST}
` + tail
		cfg, err := Parse([]byte(src), "ferry.yaml", env)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if cfg.Listen != "127.0.0.1:9999" || cfg.Admin.Listen != "127.0.0.1:7777" {
			t.Errorf("listen = %q, admin.listen = %q", cfg.Listen, cfg.Admin.Listen)
		}
		gotKeys := []string{cfg.Keys[0].Key.Reveal(), cfg.Keys[1].Name, cfg.Keys[2].Name}
		if diff := cmp.Diff([]string{"sk-from-env-0123456789", "null", "0123"}, gotKeys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		s := cfg.Providers[0].Simulator
		if s.Text != "price: ${PRICE}, key none" {
			t.Errorf("text = %q", s.Text)
		}
		if s.TokensPerSecond != 25 || s.FirstToken != 150*time.Millisecond {
			t.Errorf("tokens_per_second = %v, first_token = %v", s.TokensPerSecond, s.FirstToken)
		}
	})

	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "unset, whole value",
			src:  head + "      text: ${GREETING}\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text is empty: ${GREETING} is not set (write ${GREETING:-} to allow that)`},
		},
		{
			name: "unset, part of the value",
			src:  head + "      text: hello ${NAME}\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text: ${NAME} is not set (write ${NAME:-} to allow that)`},
		},
		{
			name: "unset, two of them",
			src:  head + "      text: ${A1}${A2}\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text is empty: ${A1} is not set, ${A2} is not set (write ${A1:-} to allow that)`},
		},
		{
			name: "unset, with an empty default",
			src:  head + "      text: ${GREETING:-}\n" + tail,
		},
		{
			name: "set but empty",
			src:  head + "      text: ${EMPTY}\n" + tail,
		},
		{
			name: "unset where a default applies after",
			src:  "listen: ${FERRY_LISTEN}\n" + head + "      text: x\n" + tail,
			want: []string{`ferry.yaml:1: listen is empty: ${FERRY_LISTEN} is not set (write ${FERRY_LISTEN:-} to allow that)`},
		},
		{
			name: "unterminated",
			src:  head + "      text: \"a ${B\"\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text: unterminated ${: close it with }, or write $${ for a literal ${`},
		},
		{
			name: "unterminated in a block scalar",
			src:  head + "      text: |\n        line one\n        line ${TWO\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text: unterminated ${: close it with }, or write $${ for a literal ${`},
		},
		{
			name: "bad name",
			src:  head + "      text: ${9LIVES}\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.text: ${...} must hold a variable name (letters, digits and _, not starting with a digit), optionally followed by :-default; write $${ for a literal ${`},
		},
		{
			name: "a value of the wrong type",
			src:  head + "      tokens_per_second: ${FIRST}\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.tokens_per_second: expected a number, got "150ms"`},
		},
		{
			name: "a number quoted stays a string",
			src:  head + "      tokens_per_second: \"${TPS}\"\n" + tail,
			want: []string{`ferry.yaml:5: providers[0].simulator.tokens_per_second: expected a number, got "25"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, env)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
