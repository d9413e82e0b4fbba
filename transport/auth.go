package transport

import "net/http"

// Auth holds the authorization hooks shared by the transports. A nil hook
// allows everything. The zero value allows all.
type Auth struct {
	// Connect decides whether a request may open a connection at all. An
	// error refuses it: with 403 before a WebSocket upgrade or an SSE
	// stream starts. The error's text is shown to the client (its first
	// 512 bytes), so it should say what to do, not reveal internals.
	Connect func(r *http.Request) error

	// Subscribe decides whether the connection opened by r may subscribe to
	// topic. It runs on every subscribe, including resumes and
	// reconnects. An error denies the topic with the code forbidden and
	// the error's text (its first 512 bytes) as message; the connection
	// stays open.
	Subscribe func(r *http.Request, topic string) error
}
