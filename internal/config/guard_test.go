package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGuardValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a full valid section with a route override",
			src: `guard:
  pii:
    id_card: redact
    phone: pseudonymize
    secret: block
    employee_id: log_only
  custom:
    - name: employee_id
      pattern: 'EMP-\d{6}'
  words:
    files: [words.txt]
    output: refuse
providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets: [{provider: sim}]
    guard:
      pii: {employee_id: redact, email: redact}
`,
		},
		{
			name: "every mistake",
			src: `guard:
  pii:
    id_cards: redact
    phone: hide
  custom:
    - name: phone
      pattern: '('
    - name: x
  words:
    input: drop
    output: refuse
    reload: -1s
` + simTail,
			want: []string{
				`ferry.yaml:3: guard.pii["id_cards"] is not a category: use one of [id_card bank_card phone landline email passport secret] or define it under guard.custom`,
				`ferry.yaml:4: guard.pii["phone"] "hide" is unknown: use off, log_only, redact, pseudonymize or block`,
				`ferry.yaml:6: guard.custom[0].name "phone" is a built-in category: choose another name`,
				"ferry.yaml:7: guard.custom[0].pattern is not a valid regular expression: error parsing regexp: missing closing ): `(`",
				`ferry.yaml:8: guard.custom[1] needs a pattern or words`,
				`ferry.yaml:9: guard.words.files is required when words.input or words.output is set`,
				`ferry.yaml:10: guard.words.input "drop" is unknown: use block or mask`,
				`ferry.yaml:12: guard.words.reload must not be negative`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGuardDefaultsAndOverride(t *testing.T) {
	cfg, err := Parse([]byte("guard:\n  pii: {phone: redact, email: log_only}\n  words: {files: [w.txt]}\n"+simTail), "ferry.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Guard.Words
	if w.Input != "block" || w.Output != "mask" || w.Reload != 10*time.Second {
		t.Fatalf("word defaults: %+v", w)
	}
	got := cfg.Guard.Override(&Guard{PII: map[string]string{"phone": "pseudonymize"}})
	want := map[string]string{"phone": "pseudonymize", "email": "log_only"}
	if diff := cmp.Diff(want, got.PII); diff != "" || cfg.Guard.PII["phone"] != "redact" || got.Words.Files[0] != "w.txt" {
		t.Fatalf("override (-want +got):\n%s", diff)
	}
	var none Config
	none.ApplyDefaults()
	if len(none.Guard.PII) != 0 || none.Guard.Words.Input != "" {
		t.Fatalf("the guard is on by default: %+v", none.Guard)
	}
}

func TestGuardOverridesResolve(t *testing.T) {
	src := `keys:
  - name: team-a
    key: abcdefghijklmnopqrstuvwxyz
rate_limits:
  tag_header: X-Biz-Type
guard:
  pii: {phone: redact, email: log_only, bank_card: redact}
  overrides:
    - key: team-a
      pii: {phone: off}
    - tag: finance
      pii: {bank_card: block, phone: pseudonymize}
providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets: [{provider: sim}]
    guard:
      pii: {email: redact}
`
	cfg, err := Parse([]byte(src), "ferry.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	r := &cfg.Routes[0]
	for _, tc := range []struct {
		key, tag string
		want     map[string]string
	}{
		{"", "", map[string]string{"phone": "redact", "email": "redact", "bank_card": "redact"}},
		{"team-a", "", map[string]string{"phone": "off", "email": "redact", "bank_card": "redact"}},
		{"team-a", "finance", map[string]string{"phone": "pseudonymize", "email": "redact", "bank_card": "block"}},
	} {
		got := cfg.Guard.Resolve(r, tc.key, tc.tag)
		if diff := cmp.Diff(tc.want, got.PII); diff != "" || got.Overrides != nil {
			t.Errorf("key %q tag %q (-want +got):\n%s", tc.key, tc.tag, diff)
		}
	}
	if cfg.Guard.PII["phone"] != "redact" {
		t.Fatal("Resolve changed the section")
	}

	bad := `guard:
  overrides:
    - key: nobody
    - tag: finance
    - key: a
      tag: b
    - key: nobody2
      pii: {phone: hide}
` + simTail
	want := []string{
		`ferry.yaml:3: guard.overrides[0].key "nobody" is not the name of a gateway key`,
		`ferry.yaml:5: guard.overrides[2] needs exactly one of key or tag`,
		`ferry.yaml:7: guard.overrides[3].key "nobody2" is not the name of a gateway key`,
		`ferry.yaml:8: guard.overrides[3].pii["phone"] "hide" is unknown: use off, log_only, redact, pseudonymize or block`,
	}
	if diff := cmp.Diff(want, parseProblems(t, bad, nil)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
