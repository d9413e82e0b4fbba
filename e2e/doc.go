// Package e2e holds fanout's browser tests: headless Chromium, driven
// through chromedp, loads the example pages served in-process and checks
// what a person would see: the score after a load, live updates, recovery
// after the server drops every connection (resume, no missed goal), a
// reset after a server restart, and the Server-Sent Events fallback when
// WebSocket is refused.
//
// It is its own module so that chromedp never becomes a dependency of
// fanout. Run it with `go test ./...` from this directory; it needs
// /usr/bin/chromium (or $CHROMIUM). Without a browser the tests skip,
// except under CI=true, where they fail. Each test saves a screenshot in
// $ARTIFACTS_DIR when set, else in its temporary directory, and logs the
// path.
package e2e
