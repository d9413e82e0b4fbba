package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Actions of a Command.
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// maxID is the largest command id: 2^53, exact in a JavaScript number.
const maxID = 1 << 53

// Command is one client command.
type Command struct {
	Action string
	Topic  string
	// Epoch and Since name the position to resume after; Resume reports
	// whether they were given.
	Epoch  string
	Since  uint64
	Resume bool
	// ID is the client's command id, echoed in the reply; HasID reports
	// whether it was given.
	ID    int64
	HasID bool
}

// ProtocolError is a command that cannot be served. Code is one of the
// Code constants; the connection stays open and the client is told with
// an error message.
type ProtocolError struct {
	Code    string
	Message string
}

func (e *ProtocolError) Error() string { return "fanout: " + e.Code + ": " + e.Message }

// Errorf returns a *ProtocolError with the given code.
func Errorf(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

type rawCommand struct {
	Action *string         `json:"action"`
	Topic  *string         `json:"topic"`
	Epoch  *string         `json:"epoch"`
	Since  json.RawMessage `json:"since"`
	ID     json.RawMessage `json:"id"`
}

// ParseCommand parses one command. On failure the error is a
// *ProtocolError, and the Command holds the id when it could be read, so
// that the error reply can echo it. It checks the form of the command,
// not the topic name, which the hub checks.
func ParseCommand(b []byte) (Command, error) {
	var raw rawCommand
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return Command{}, Errorf(CodeBadRequest, "command is not a JSON object: %v", simplify(err))
	}
	if dec.More() {
		return Command{}, Errorf(CodeBadRequest, "one JSON object per command")
	}
	var c Command
	if raw.ID != nil {
		id, err := parseUint(raw.ID, "id")
		if err != nil {
			return c, err
		}
		c.ID, c.HasID = int64(id), true
	}
	if raw.Action == nil || *raw.Action == "" {
		return c, Errorf(CodeBadRequest, `command has no "action"`)
	}
	c.Action = *raw.Action
	if c.Action != ActionSubscribe && c.Action != ActionUnsubscribe {
		return c, Errorf(CodeUnknownAction, "unknown action %q; use %q or %q", c.Action, ActionSubscribe, ActionUnsubscribe)
	}
	if raw.Topic == nil || *raw.Topic == "" {
		return c, Errorf(CodeBadRequest, `command has no "topic"`)
	}
	c.Topic = *raw.Topic
	switch {
	case raw.Epoch == nil && raw.Since == nil:
	case raw.Epoch == nil || raw.Since == nil:
		return c, Errorf(CodeBadRequest, `"epoch" and "since" go together`)
	case c.Action != ActionSubscribe:
		return c, Errorf(CodeBadRequest, `"epoch" and "since" belong to subscribe`)
	default:
		since, err := parseUint(raw.Since, "since")
		if err != nil {
			return c, err
		}
		c.Epoch, c.Since, c.Resume = *raw.Epoch, since, true
	}
	return c, nil
}

// parseUint reads a JSON number literal that is an integer from 0 to 2^53,
// written without sign, fraction, exponent or leading zeros; a string such
// as "7" is refused.
func parseUint(raw json.RawMessage, field string) (uint64, error) {
	v, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || v > maxID || (len(raw) > 1 && raw[0] == '0') {
		return 0, Errorf(CodeBadRequest, "%q must be an integer from 0 to 2^53, not %.40s", field, raw)
	}
	return v, nil
}

// simplify drops the decoder's Go type names from err.
func simplify(err error) string {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return fmt.Sprintf("field %q has the wrong type", ute.Field)
	}
	return err.Error()
}
