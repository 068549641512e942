package server

import (
	"errors"
	"testing"

	"github.com/ferrygw/ferry/internal/apierr"
)

func TestErrorTextOnce(t *testing.T) {
	cause := errors.New("unexpected end of JSON input")
	for _, c := range []struct {
		e    *apierr.Error
		want string
	}{
		{apierr.Wrap(apierr.InvalidRequest, cause, cause.Error()), "unexpected end of JSON input"},
		{apierr.Wrap(apierr.BadGateway, cause, "upstream answer could not be read"), "upstream answer could not be read: unexpected end of JSON input"},
		{apierr.New(apierr.NotFound, "model %q not found", "x"), `model "x" not found`},
		{apierr.Wrap(apierr.BadGateway, errors.New("read: upstream answer could not be read: EOF"), "upstream answer could not be read"), "read: upstream answer could not be read: EOF"},
	} {
		if got := errorText(c.e); got != c.want {
			t.Errorf("errorText(%v) = %q, want %q", c.e, got, c.want)
		}
	}
}
