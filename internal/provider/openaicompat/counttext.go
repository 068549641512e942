package openaicompat

// CountText counts the tokens of one text with the same tokenizer and
// budget as CountTokens (o200k_base, exact for the first 1 MiB, estimated
// past it): an answer's text whose upstream reported no usage.
func CountText(s string) (int64, error) {
	tk, err := o200k()
	if err != nil {
		return 0, err
	}
	c := counter{tk: tk}
	return c.text(s), nil
}
