package transport

import (
	"errors"

	"github.com/fanout-go/fanout"
)

// FromError maps an error of fanout's Subscribe, Resume or Unsubscribe to
// the protocol error the client receives.
func FromError(err error) *ProtocolError {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, fanout.ErrInvalidTopic):
		return &ProtocolError{Code: CodeInvalidTopic, Message: err.Error()}
	case errors.Is(err, fanout.ErrLimit):
		return &ProtocolError{Code: CodeLimit, Message: err.Error()}
	case errors.Is(err, fanout.ErrSubscribed):
		return &ProtocolError{Code: CodeAlreadySubscribed, Message: err.Error()}
	case errors.Is(err, fanout.ErrNotSubscribed):
		return &ProtocolError{Code: CodeNotSubscribed, Message: err.Error()}
	}
	return &ProtocolError{Code: CodeUnavailable, Message: "the topic cannot be served now; retry later"}
}
