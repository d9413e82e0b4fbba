package protocol

import (
	"errors"
	"fmt"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// ProtocolError is a command that cannot be served. Code is one of the
// transport.Code constants; the connection stays open and the client is
// told with an error message.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return "fanout: " + e.Code + ": " + e.Message }

// Errorf returns a *ProtocolError with the given code.
func Errorf(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FromError maps an error of fanout's Subscribe, Resume or Unsubscribe to
// the protocol error the client receives.
func FromError(err error) *ProtocolError {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, fanout.ErrInvalidTopic):
		return &ProtocolError{Code: transport.CodeInvalidTopic, Message: err.Error()}
	case errors.Is(err, fanout.ErrNotFound):
		return &ProtocolError{Code: transport.CodeNotFound, Message: "no such topic; do not subscribe to it again"}
	case errors.Is(err, fanout.ErrLimit):
		return &ProtocolError{Code: transport.CodeLimit, Message: err.Error()}
	case errors.Is(err, fanout.ErrSubscribed):
		return &ProtocolError{Code: transport.CodeAlreadySubscribed, Message: err.Error()}
	case errors.Is(err, fanout.ErrNotSubscribed):
		return &ProtocolError{Code: transport.CodeNotSubscribed, Message: err.Error()}
	}
	return &ProtocolError{Code: transport.CodeUnavailable, Message: "the topic cannot be served now; retry later"}
}
