// Package web serves fanout.js, the reference browser client of fanout's
// wire protocol (docs/protocol.md). The script is an ES module with no
// dependencies and no build step, embedded in the Go binary, so an
// application mounts it next to its transports:
//
//	mux.Handle("GET /fanout.js", web.Handler())
//	mux.Handle("/ws", ws.NewHandler(hub, ws.Options{}))
//	mux.Handle("/events", sse.NewHandler(hub, sse.Options{}))
//
// and a page imports it:
//
//	<script type="module">
//	  import { FanoutClient } from '/fanout.js';
//	  const client = new FanoutClient({ ws: '/ws', sse: '/events' });
//	  client.subscribe('game-updates:7', {
//	    onSnapshot(state) { render(state); },
//	    onUpdate(update) { apply(update); },
//	  });
//	</script>
//
// The client resumes every topic after a reconnect, drops duplicates,
// backs off with full jitter and falls back from WebSocket to Server-Sent
// Events; the comments at the top of fanout.js describe its options.
package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // for the script
	"encoding/base64"
	"net/http"
	"time"
)

//go:embed fanout.js
var script []byte

// etag names this build's script, so browsers revalidate it cheaply.
var etag = func() string {
	sum := sha256.Sum256(script)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}()

// Handler returns an http.Handler that serves fanout.js as
// text/javascript, whatever the request path, to GET and HEAD requests. It
// answers conditional requests (ETag) and range requests, and tells
// browsers to revalidate (Cache-Control: no-cache), so a new build of the
// application is picked up at once. It is safe for concurrent use.
func Handler() http.Handler { return handler{} }

type handler struct{}

func (handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "fanout: fanout.js is served to GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "fanout.js", time.Time{}, bytes.NewReader(script))
}
