package guard

import "testing"

// TestCategoryBits checks the scanners' bit constants against bitOf, which
// derives each from builtinCategories.
func TestCategoryBits(t *testing.T) {
	for c, bit := range map[Category]uint32{IDCard: idCardBit, BankCard: bankCardBit, Phone: phoneBit,
		Landline: landlineBit, Email: emailBit, Passport: passportBit, Secret: secretBit} {
		if got := bitOf(c); got != bit {
			t.Errorf("bitOf(%s) = %b, want %b", c, got, bit)
		}
	}
	if got := bitOf("custom"); got != 0 {
		t.Errorf("bitOf(custom) = %b, want 0", got)
	}
}
