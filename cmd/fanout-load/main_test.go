package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests: every run closes
// its clients and idle connections, every server its handlers.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
