//go:build !linux

package cache

import "testing"

// reportCPU reports nothing where thread CPU time is not available.
func reportCPU(*testing.B) func() { return func() {} }
