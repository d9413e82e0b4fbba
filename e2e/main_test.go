package e2e

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests: the servers, the
// hubs and chromedp's connection to the browser are all closed by then
// (chromedp's goroutines end when the browser context is cancelled, so no
// exception is needed).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
