package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/fanout-go/fanout/transport"
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

// ParseCommand parses one command. On failure the error is a
// *ProtocolError, and the Command holds the id whenever it could be read,
// also when another field is malformed, so that the error reply can echo
// it. It checks the form of the command, not the topic name, which the
// hub checks.
func ParseCommand(b []byte) (Command, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return Command{}, notObject(b)
	}
	var c Command
	if raw, ok := fields["id"]; ok {
		id, err := parseUint(raw, "id")
		if err != nil {
			return c, err
		}
		c.ID, c.HasID = int64(id), true
	}
	action, err := stringField(fields, "action")
	if err != nil {
		return c, err
	}
	c.Action = action
	if c.Action != transport.ActionSubscribe && c.Action != transport.ActionUnsubscribe {
		return c, Errorf(transport.CodeUnknownAction, "unknown action %q; use %q or %q",
			Clip(c.Action, maxEchoField), transport.ActionSubscribe, transport.ActionUnsubscribe)
	}
	if c.Topic, err = stringField(fields, "topic"); err != nil {
		return c, err
	}
	return c, c.parsePosition(fields)
}

// parsePosition reads epoch and since, which go together.
func (c *Command) parsePosition(fields map[string]json.RawMessage) error {
	rawEpoch, hasEpoch := fields["epoch"]
	rawSince, hasSince := fields["since"]
	switch {
	case !hasEpoch && !hasSince:
		return nil
	case !hasEpoch || !hasSince:
		return Errorf(transport.CodeBadRequest, `"epoch" and "since" go together`)
	case c.Action != transport.ActionSubscribe:
		return Errorf(transport.CodeBadRequest, `"epoch" and "since" belong to subscribe`)
	}
	var epoch string
	if err := json.Unmarshal(rawEpoch, &epoch); err != nil || bytes.Equal(rawEpoch, []byte("null")) {
		return Errorf(transport.CodeBadRequest, `"epoch" must be a string`)
	}
	since, err := parseUint(rawSince, "since")
	if err != nil {
		return err
	}
	c.Epoch, c.Since, c.Resume = epoch, since, true
	return nil
}

// notObject explains why b is not one JSON object.
func notObject(b []byte) *ProtocolError {
	if json.Valid(b) {
		return Errorf(transport.CodeBadRequest, "a command is one JSON object, such as {\"action\":\"subscribe\",\"topic\":\"a\"}")
	}
	return Errorf(transport.CodeBadRequest, "a command is one JSON object, and this is not valid JSON")
}

// stringField returns the non-empty string field name of fields.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok {
		return "", Errorf(transport.CodeBadRequest, "command has no %q", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || bytes.Equal(raw, []byte("null")) {
		return "", Errorf(transport.CodeBadRequest, "%q must be a string, not %s", name, Clip(string(raw), maxEchoField))
	}
	if s == "" {
		return "", Errorf(transport.CodeBadRequest, "command has an empty %q", name)
	}
	return s, nil
}

// parseUint reads a JSON number literal that is an integer from 0 to 2^53,
// written without sign, fraction, exponent or leading zeros; a string such
// as "7" is refused.
func parseUint(raw json.RawMessage, field string) (uint64, error) {
	v, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || v > maxID || (len(raw) > 1 && raw[0] == '0') {
		return 0, Errorf(transport.CodeBadRequest, "%q must be an integer from 0 to 2^53, not %s", field, Clip(string(raw), maxEchoField))
	}
	return v, nil
}
