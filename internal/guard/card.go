package guard

// Bank cards: 13 to 19 digits whose last digit is the Luhn check digit
// (ISO/IEC 7812), with a known issuer prefix: UnionPay 62 (16-19 digits),
// Visa 4 (13 or 16), Mastercard 51-55 and 2221-2720 (16), American Express
// 34 and 37 (15), JCB 3528-3589 (16). A Luhn check alone passes one random
// number in ten; the issuer and length rules leave order numbers, snowflake
// ids and timestamps out.

func luhn(v []byte) bool {
	sum := 0
	double := false
	for i := len(v) - 1; i >= 0; i-- {
		d := int(v[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func isBankCard(v []byte) bool {
	n := len(v)
	var ok bool
	switch {
	case v[0] == '6' && v[1] == '2':
		ok = n >= 16
	case v[0] == '4':
		ok = n == 13 || n == 16
	case v[0] == '5' && v[1] >= '1' && v[1] <= '5':
		ok = n == 16
	case v[0] == '2':
		p := num(v[:4])
		ok = n == 16 && p >= 2221 && p <= 2720
	case v[0] == '3' && (v[1] == '4' || v[1] == '7'):
		ok = n == 15
	case v[0] == '3' && v[1] == '5':
		p := num(v[:4])
		ok = n == 16 && p >= 3528 && p <= 3589
	}
	return ok && luhn(v)
}
