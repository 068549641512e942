package app

import (
	"context"
	"os"
)

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func envBool(k string) bool { return os.Getenv(k) == "1" }
