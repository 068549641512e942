package main

import (
	"bytes"
	"os"
	"testing"
)

// TestCorpusUpToDate holds the committed corpus equal to what the generator
// writes: regenerate with
// go run ./internal/guard/corpusgen > testdata/guard/corpus.tsv
func TestCorpusUpToDate(t *testing.T) {
	want, err := os.ReadFile("../../../testdata/guard/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	write(&got)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("testdata/guard/corpus.tsv is not what the generator writes: regenerate it")
	}
}
