package protocol

import (
	"net/http"

	"github.com/fanout-go/fanout/transport"
)

// AllowConnect runs a's Connect hook; nil allows. A refusal's Message is
// the hook's text clipped to MaxEcho bytes: the transports show it to the
// client.
func AllowConnect(a transport.Auth, r *http.Request) *ProtocolError {
	if a.Connect == nil {
		return nil
	}
	if err := a.Connect(r); err != nil {
		return Errorf(transport.CodeForbidden, "%s", Clip(err.Error(), MaxEcho))
	}
	return nil
}

// AllowSubscribe runs a's Subscribe hook, turning a denial into a
// *ProtocolError with transport.CodeForbidden and the hook's text, clipped.
func AllowSubscribe(a transport.Auth, r *http.Request, topic string) *ProtocolError {
	if a.Subscribe == nil {
		return nil
	}
	if err := a.Subscribe(r, topic); err != nil {
		return Errorf(transport.CodeForbidden, "%s", Clip(err.Error(), MaxEcho))
	}
	return nil
}
