package app

import (
	"io"
	"os"
)

func stderr() io.Writer { return os.Stderr }
