package transport

import "net/http"

// Auth holds the authorization hooks shared by the transports. A nil hook
// allows everything.
type Auth struct {
	// Connect decides whether a request may open a connection at all. An
	// error refuses it: with 403 before a WebSocket upgrade or an SSE
	// stream starts. The error's text is shown to the client, so it should
	// say what to do, not reveal internals.
	Connect func(r *http.Request) error

	// Subscribe decides whether the connection opened by r may subscribe to
	// topic. It runs on every subscribe, including resumes and
	// reconnects. An error denies the topic with the code forbidden and
	// the error's text as message; the connection stays open.
	Subscribe func(r *http.Request, topic string) error
}

// AllowConnect runs the Connect hook.
func (a Auth) AllowConnect(r *http.Request) error {
	if a.Connect == nil {
		return nil
	}
	return a.Connect(r)
}

// AllowSubscribe runs the Subscribe hook, turning a denial into a
// *ProtocolError with CodeForbidden.
func (a Auth) AllowSubscribe(r *http.Request, topic string) *ProtocolError {
	if a.Subscribe == nil {
		return nil
	}
	if err := a.Subscribe(r, topic); err != nil {
		return Errorf(CodeForbidden, "%s", err.Error())
	}
	return nil
}
