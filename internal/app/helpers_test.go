package app

import (
	"context"
	"errors"
	"os"
)

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func envBool(k string) bool { return os.Getenv(k) == "1" }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
