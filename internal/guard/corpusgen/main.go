// Command corpusgen writes the labelled corpus that the guard package's
// precision and recall test reads, testdata/guard/corpus.tsv. It is
// deterministic (a fixed seed), so the file changes only when this program
// does:
//
//	go run ./internal/guard/corpusgen > testdata/guard/corpus.tsv
//
// Each line is `category<TAB>value<TAB>text`: text holds value exactly once
// and nothing else of any category (a newline is written \\n); category "-" marks a text in which
// nothing must be found (value then names what kind of decoy it is). Values
// are valid by construction (check digits computed here, independently of
// the package); a generated value that would be valid under two categories
// (an old 15-digit ID that is also a Luhn-valid Amex number) is skipped, as
// the detector then reports one fixed category.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	write(w)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// kind is one category of values (or of decoys, when decoy is set) and how
// many examples of it the corpus holds.
type kind struct {
	name  string
	n     int
	decoy bool
	fn    func() string
}

// write writes the corpus to w: each category's examples, then the decoys
// (category "-", the value column naming the decoy's kind).
func write(w io.Writer) {
	g := &gen{r: rand.New(rand.NewPCG(12, 2026))}
	kinds := []kind{
		{"id_card", 700, false, g.idCard},
		{"bank_card", 600, false, g.bankCard},
		{"phone", 600, false, g.phone},
		{"landline", 400, false, g.landline},
		{"email", 400, false, g.email},
		{"passport", 300, false, g.passport},
		{"secret", 500, false, g.secret},
		{"timestamp_ms", 300, true, g.timestampMS},
		{"snowflake", 300, true, g.snowflake},
		{"order_number", 300, true, g.orderNumber},
		{"invoice_number", 200, true, g.invoice},
		{"waybill", 300, true, g.waybill},
		{"id_wrong_check", 300, true, g.idWrongCheck},
		{"card_wrong_luhn", 200, true, g.cardWrongLuhn},
		{"inside_longer_number", 300, true, g.insideLonger},
		{"prose_numbers", 200, true, g.proseNumbers},
		{"lookalike_tokens", 200, true, g.lookalike},
		{"product_code", 200, true, g.productCode},
	}
	for _, k := range kinds {
		for range k.n {
			v := k.fn()
			cat, val := k.name, v
			if k.decoy {
				cat, val = "-", k.name
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", cat, esc(val), esc(g.context(v)))
		}
	}
}

// esc writes a newline as \n so that each example is one line.
func esc(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }

type gen struct{ r *rand.Rand }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

var contexts = []string{
	"%s",
	"我的号码是%s，请记下。",
	"客户信息：%s；备注无。",
	"请核对 %s 是否正确",
	"Please verify %s before Friday.",
	"Contact: %s (primary)",
	"User said \"%s\" in the chat.",
	"【重要】%s\n下一行",
	"data=%s&next=1",
	"- item: %s\n- other: none",
}

func (g *gen) context(v string) string {
	return fmt.Sprintf(contexts[g.r.IntN(len(contexts))], v)
}

var provinces = []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}

var weights = []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

func idCheck(body string) byte {
	s := 0
	for i := 0; i < 17; i++ {
		s += int(body[i]-'0') * weights[i]
	}
	return "10X98765432"[s%11]
}

func (g *gen) date(y0, y1 int) string {
	y := y0 + g.r.IntN(y1-y0)
	m := 1 + g.r.IntN(12)
	d := 1 + g.r.IntN(28)
	return fmt.Sprintf("%04d%02d%02d", y, m, d)
}

func (g *gen) id18Body() string {
	var region string
	switch g.r.IntN(10) {
	case 0:
		region = g.pick("810000", "820000", "830000") // HK, Macao, Taiwan residence permits
	case 1:
		region = "9" + g.pick(provinces...) + g.digits(3) // foreigner's permanent residence permit
	default:
		region = g.pick(provinces...) + g.digits(4)
	}
	return region + g.date(1940, 2020) + g.digits(3)
}

func luhnValid(v string) bool {
	s, dbl := 0, false
	for i := len(v) - 1; i >= 0; i-- {
		d := int(v[i] - '0')
		if dbl {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		s += d
		dbl = !dbl
	}
	return s%10 == 0
}

func fullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r - '0' + 0xFF10)
		case r == 'X':
			b.WriteRune(0xFF38)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (g *gen) idCard() string {
	if g.r.IntN(16) == 0 { // a foreigner's permanent residence permit of before 2023
		return g.pick("USA", "GBR", "DEU", "FRA", "JPN", "KOR", "CAN", "AUS") + g.pick("1100", "3100", "4403", "3201", "5101") + g.date(1950, 2010)[2:] + g.digits(2)
	}
	if g.r.IntN(8) == 0 { // the old 15-digit form
		for {
			v := g.pick(provinces...) + g.digits(4) + g.date(1930, 2000)[2:] + g.digits(3)
			if !(luhnValid(v) && (v[:2] == "34" || v[:2] == "37")) {
				return v
			}
		}
	}
	body := g.id18Body()
	v := body + string(idCheck(body))
	switch g.r.IntN(6) {
	case 0:
		v = strings.ToLower(v)
	case 1:
		v = fullWidth(v)
	case 2:
		v = v[:6] + " " + v[6:14] + " " + v[14:]
	case 3:
		v = v[:6] + "-" + v[6:14] + "-" + v[14:]
	}
	return v
}

func (g *gen) withLuhn(prefix string, n int) string {
	body := prefix + g.digits(n-len(prefix)-1)
	for c := byte('0'); c <= '9'; c++ {
		if luhnValid(body + string(c)) {
			return body + string(c)
		}
	}
	panic("unreachable")
}

func (g *gen) bankCard() string {
	var v string
	for {
		switch g.r.IntN(5) {
		case 0, 1:
			v = g.withLuhn("62"+g.digits(4), 16+g.r.IntN(4))
		case 2:
			v = g.withLuhn("4", 16)
		case 3:
			v = g.withLuhn(g.pick("51", "52", "53", "54", "55", "2221", "2720"), 16)
		default:
			v = g.withLuhn(g.pick("34", "37"), 15)
		}
		if len(v) == 18 && idCheck(v) == v[17] || len(v) == 15 {
			continue // could read as a resident ID: skipped (see the package doc)
		}
		break
	}
	if len(v) == 16 && g.r.IntN(2) == 0 {
		sep := g.pick(" ", "-")
		v = v[:4] + sep + v[4:8] + sep + v[8:12] + sep + v[12:]
	}
	return v
}

var segments = []string{"130", "131", "132", "133", "135", "136", "137", "138", "139", "145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159", "166", "170", "171", "173", "175", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199"}

func (g *gen) phone() string {
	v := g.pick(segments...) + g.digits(8)
	if g.r.IntN(3) == 0 {
		sep := g.pick(" ", "-")
		v = v[:3] + sep + v[3:7] + sep + v[7:]
	}
	switch g.r.IntN(6) {
	case 0:
		v = "+86 " + v
	case 1:
		v = "+86" + v
	case 2:
		v = "0086" + v
	case 3:
		v = fullWidth(v)
	}
	return v
}

func (g *gen) landline() string {
	area := g.pick("010", "021", "022", "023", "020", "024", "025", "027", "028", "029", "0311", "0371", "0431", "0451", "0531", "0551", "0571", "0591", "0731", "0755", "0769", "0871", "0898")
	n := 8
	if len(area) == 4 && g.r.IntN(2) == 0 {
		n = 7
	}
	local := string(byte('2'+g.r.IntN(8))) + g.digits(n-1)
	switch g.r.IntN(4) {
	case 0:
		return area + "-" + local
	case 1:
		return "(" + area + ")" + local
	case 2:
		return area + " " + local
	}
	if len(area)+len(local) != 11 {
		return area + "-" + local // 12 digits unseparated read as an invoice code
	}
	return area + local
}

func (g *gen) word(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(len(letters))]
	}
	return string(b)
}

func (g *gen) email() string {
	local := g.word(3 + g.r.IntN(6))
	switch g.r.IntN(4) {
	case 0:
		local += "." + g.word(4)
	case 1:
		local += g.digits(3)
	case 2:
		local += "+" + g.word(3)
	}
	return local + "@" + g.pick("qq.com", "163.com", "gmail.com", "example.com.cn", "corp.example.org", "126.com", "outlook.com")
}

func (g *gen) passport() string {
	switch g.r.IntN(3) {
	case 0:
		return "E" + g.digits(8)
	case 1:
		return "G" + g.digits(8)
	}
	return "E" + string("ABCDEFGHJKLMNPQRSTUVWXYZ"[g.r.IntN(24)]) + g.digits(7)
}

func (g *gen) token(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b64u  = alnum + "-_"
)

func (g *gen) mixed(n int, alphabet string) string {
	for {
		t := g.token(n, alphabet)
		if strings.ContainsAny(t, "0123456789") && strings.ContainsAny(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			return t
		}
	}
}

func (g *gen) secret() string {
	switch g.r.IntN(9) {
	case 0:
		return "sk-ant-api03-" + g.token(80, b64u) + "AA"
	case 1:
		return "sk-proj-" + g.token(48, b64u)
	case 2:
		return "sk-" + g.mixed(48, alnum)
	case 3:
		return "sk-" + g.mixed(32, "0123456789abcdef")
	case 4:
		return g.pick("AKIA", "ASIA") + g.token(16, upper)
	case 5:
		return "LTAI" + g.mixed(20, alnum)
	case 6:
		return "eyJhbGciOiJIUzI1NiJ9.eyJ" + g.token(40, b64u) + "." + g.token(43, b64u)
	case 7:
		return g.token(32, "0123456789abcdef") + "." + g.mixed(16, alnum)
	}
	return "-----BEGIN PRIVATE KEY-----\n" + g.token(64, alnum+"+/") + "\n" + g.token(40, alnum+"+/") + "=\n-----END PRIVATE KEY-----"
}

// Decoys.

func (g *gen) timestampMS() string {
	return fmt.Sprint(1500000000000 + g.r.Int64N(300000000000))
}

func (g *gen) snowflake() string {
	ms := 1500000000000 + g.r.Int64N(300000000000) - 1288834974657 // Twitter's epoch
	return fmt.Sprint(ms<<22 | g.r.Int64N(1024)<<12 | g.r.Int64N(4096))
}

func (g *gen) orderNumber() string {
	d := g.date(2019, 2027)
	switch g.r.IntN(4) {
	case 0:
		return d + g.digits(10) // 18 digits from a date
	case 1:
		return d + g.digits(6)
	case 2:
		return "ORD" + d + g.digits(6)
	}
	return "No." + d[2:] + g.digits(12)
}

func (g *gen) invoice() string {
	switch g.r.IntN(3) {
	case 0:
		return g.pick("24", "25", "26") + g.digits(18) // 20-digit e-invoice number
	case 1:
		return "0" + g.digits(11) // 12-digit invoice code
	}
	return g.digits(8) // invoice number
}

func (g *gen) waybill() string {
	switch g.r.IntN(5) {
	case 0:
		return "SF" + g.digits(13)
	case 1:
		return "JDX" + g.digits(12)
	case 2:
		return "YT" + g.digits(13)
	case 3:
		return "7" + g.pick("3", "5", "7", "8") + g.digits(13) // ZTO, 15 digits
	}
	return "9" + g.digits(11) // EMS/Yunda 12 digits
}

func (g *gen) idWrongCheck() string {
	body := g.id18Body()
	good := idCheck(body)
	for {
		c := "0123456789X"[g.r.IntN(11)]
		if c != good {
			return body + string(c)
		}
	}
}

func (g *gen) cardWrongLuhn() string {
	v := g.withLuhn("62"+g.digits(4), 16)
	last := (v[15]-'0'+1+byte(g.r.IntN(8)))%10 + '0'
	return v[:15] + string(last)
}

func (g *gen) insideLonger() string {
	var v string
	switch g.r.IntN(4) {
	case 0:
		v = g.pick(segments...) + g.digits(8)
	case 1:
		b := g.id18Body()
		v = b + string(idCheck(b))
	case 2:
		v = g.withLuhn("4", 16)
	default:
		v = "E" + g.digits(8)
	}
	switch g.r.IntN(4) {
	case 0:
		return g.digits(1+g.r.IntN(3)) + v
	case 1:
		return v + g.digits(1+g.r.IntN(3))
	case 2:
		return "ID" + v
	}
	return v + "abc"
}

func (g *gen) proseNumbers() string {
	switch g.r.IntN(6) {
	case 0:
		return fmt.Sprintf("%d.%02d 元", g.r.IntN(100000), g.r.IntN(100))
	case 1:
		return g.date(2000, 2030)[:4] + "-" + g.date(2000, 2030)[4:6] + "-" + g.date(2000, 2030)[6:]
	case 2:
		return fmt.Sprintf("%d.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
	case 3:
		return "1920x1080 at 60Hz"
	case 4:
		return fmt.Sprintf("v%d.%d.%d", g.r.IntN(10), g.r.IntN(30), g.r.IntN(100))
	}
	return fmt.Sprintf("%d,%03d,%03d users", 1+g.r.IntN(999), g.r.IntN(1000), g.r.IntN(1000))
}

func (g *gen) lookalike() string {
	switch g.r.IntN(6) {
	case 0:
		return "ask-" + g.word(20)
	case 1:
		return "sk-learn is a library"
	case 2:
		return "user@localhost"
	case 3:
		return "G" + g.digits(3) + " train"
	case 4:
		return "AKIA" + g.word(16)
	}
	return "-----BEGIN PUBLIC KEY-----"
}

// productCode is three letters and twelve digits, like a residence permit
// of before 2023 but with digits that need not hold a place and a date.
func (g *gen) productCode() string {
	return g.pick("SKU", "PRD", "ITM", "BOX") + g.digits(12)
}
