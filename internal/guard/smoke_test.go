package guard

import "testing"

func TestSmokeScan(t *testing.T) {
	d, err := NewDetector(Builtins(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want Category
		val  string
	}{
		{"我的身份证号是11010519491231002X，谢谢", IDCard, "11010519491231002X"},
		{"ID 110105 19491231 002x done", IDCard, "110105 19491231 002x"},
		{"card 4111-1111-1111-1111 ok", BankCard, "4111-1111-1111-1111"},
		{"call +86 138 1234 5678 now", Phone, "+86 138 1234 5678"},
		{"tel (010)62345678", Landline, "(010)62345678"},
		{"mail a.b+c@example.com.", Email, "a.b+c@example.com"},
		{"护照E12345678。", Passport, "E12345678"},
		{"key=sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345 end", Secret, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"},
		{"ts 1733456789123 order 202412061234567890", "", ""},
		{"x 138123456789 y", "", ""},
		{"全角１３８１２３４５６７８号", Phone, "１３８１２３４５６７８"},
		{"全角：１３８１２３４５６７８。", Phone, "１３８１２３４５６７８"},
	} {
		ms := d.Scan(tc.in, nil)
		if tc.want == "" {
			if len(ms) != 0 {
				t.Errorf("%q: got %v", tc.in, ms)
			}
			continue
		}
		if len(ms) != 1 || ms[0].Category != tc.want || tc.in[ms[0].Start:ms[0].End] != tc.val {
			t.Errorf("%q: got %v", tc.in, ms)
			for _, m := range ms {
				t.Logf("  %s %q", m.Category, tc.in[m.Start:m.End])
			}
		}
	}
}
