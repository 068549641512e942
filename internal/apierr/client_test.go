package apierr

import "testing"

func TestClientError(t *testing.T) {
	typ, msg := New(Overloaded, "upstream overloaded").ClientError()
	if typ != "overloaded_error" || msg != "upstream overloaded" {
		t.Errorf("ClientError() = %q, %q", typ, msg)
	}
}
