package protocol_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want protocol.Command
		code string // the error code, "" for success
	}{
		{"subscribe", `{"action":"subscribe","topic":"game:123"}`,
			protocol.Command{Action: "subscribe", Topic: "game:123"}, ""},
		{"resume with id", `{"action":"subscribe","topic":"game:123","epoch":"k3Xq9a_Z","since":41,"id":7}`,
			protocol.Command{Action: "subscribe", Topic: "game:123", Epoch: "k3Xq9a_Z", Since: 41, Resume: true, ID: 7, HasID: true}, ""},
		{"since zero", `{"action":"subscribe","topic":"a","epoch":"e","since":0}`,
			protocol.Command{Action: "subscribe", Topic: "a", Epoch: "e", Resume: true}, ""},
		{"unsubscribe", `{"action":"unsubscribe","topic":"a","id":8}`,
			protocol.Command{Action: "unsubscribe", Topic: "a", ID: 8, HasID: true}, ""},
		{"unknown fields ignored", `{"action":"subscribe","topic":"a","x":[1,{"y":2}]}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, ""},
		{"whitespace", " \n{ \"action\" : \"subscribe\" , \"topic\" : \"a\" }\n ",
			protocol.Command{Action: "subscribe", Topic: "a"}, ""},
		{"largest id", `{"action":"subscribe","topic":"a","id":9007199254740992}`,
			protocol.Command{Action: "subscribe", Topic: "a", ID: 1 << 53, HasID: true}, ""},
		{"topic not checked here", `{"action":"subscribe","topic":"a b"}`,
			protocol.Command{Action: "subscribe", Topic: "a b"}, ""},

		{"empty", ``, protocol.Command{}, transport.CodeBadRequest},
		{"id a string", `{"action":"subscribe","topic":"a","id":"7"}`, protocol.Command{}, transport.CodeBadRequest},
		{"since a string", `{"action":"subscribe","topic":"a","epoch":"e","since":"4"}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since null", `{"action":"subscribe","topic":"a","epoch":"e","since":null}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"id with leading zero", `{"action":"subscribe","topic":"a","id":07}`, protocol.Command{}, transport.CodeBadRequest},
		{"not JSON", `subscribe a`, protocol.Command{}, transport.CodeBadRequest},
		{"truncated", `{"action":"subscribe"`, protocol.Command{}, transport.CodeBadRequest},
		{"array", `[]`, protocol.Command{}, transport.CodeBadRequest},
		{"null", `null`, protocol.Command{}, transport.CodeBadRequest},
		{"two objects", `{"action":"subscribe","topic":"a"} {}`, protocol.Command{}, transport.CodeBadRequest},
		{"no action", `{"topic":"a","id":1}`, protocol.Command{ID: 1, HasID: true}, transport.CodeBadRequest},
		{"empty action", `{"action":"","topic":"a"}`, protocol.Command{}, transport.CodeBadRequest},
		{"action not a string", `{"action":1,"topic":"a"}`, protocol.Command{}, transport.CodeBadRequest},
		{"unknown action", `{"action":"publish","topic":"a","id":2}`,
			protocol.Command{Action: "publish", ID: 2, HasID: true}, transport.CodeUnknownAction},
		{"action is case sensitive", `{"action":"Subscribe","topic":"a"}`,
			protocol.Command{Action: "Subscribe"}, transport.CodeUnknownAction},
		{"no topic", `{"action":"subscribe","id":3}`,
			protocol.Command{Action: "subscribe", ID: 3, HasID: true}, transport.CodeBadRequest},
		{"epoch without since", `{"action":"subscribe","topic":"a","epoch":"e"}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since without epoch", `{"action":"subscribe","topic":"a","since":4}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"resume on unsubscribe", `{"action":"unsubscribe","topic":"a","epoch":"e","since":4}`,
			protocol.Command{Action: "unsubscribe", Topic: "a"}, transport.CodeBadRequest},
		{"negative since", `{"action":"subscribe","topic":"a","epoch":"e","since":-1}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"fractional since", `{"action":"subscribe","topic":"a","epoch":"e","since":1.5}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"exponent since", `{"action":"subscribe","topic":"a","epoch":"e","since":1e3}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since too big", `{"action":"subscribe","topic":"a","epoch":"e","since":9007199254740993}`,
			protocol.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"negative id", `{"action":"subscribe","topic":"a","id":-1}`, protocol.Command{}, transport.CodeBadRequest},
		{"id too big", `{"action":"subscribe","topic":"a","id":9007199254740993}`, protocol.Command{}, transport.CodeBadRequest},
		// The id is echoed whatever else is wrong with the command.
		{"topic a number keeps the id", `{"action":"subscribe","topic":5,"id":10}`,
			protocol.Command{Action: "subscribe", ID: 10, HasID: true}, transport.CodeBadRequest},
		{"action a number keeps the id", `{"action":5,"topic":"a","id":10}`,
			protocol.Command{ID: 10, HasID: true}, transport.CodeBadRequest},
		{"epoch a number keeps the id", `{"action":"subscribe","topic":"a","epoch":3,"since":1,"id":10}`,
			protocol.Command{Action: "subscribe", Topic: "a", ID: 10, HasID: true}, transport.CodeBadRequest},
		{"id after a bad field", `{"topic":[1],"action":"subscribe","id":10}`,
			protocol.Command{Action: "subscribe", ID: 10, HasID: true}, transport.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := protocol.ParseCommand([]byte(tc.in))
			if tc.code == "" {
				require.NoError(t, err)
			} else {
				var pe *protocol.ProtocolError
				require.True(t, errors.As(err, &pe), "error %v", err)
				assert.Equal(t, tc.code, pe.Code)
				assert.NotEmpty(t, pe.Message)
				assert.True(t, strings.HasPrefix(pe.Error(), "fanout: "), pe.Error())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestParseCommandMessages checks what the error messages say: a JSON
// object is never called anything else, and the client's values are
// quoted only in part.
func TestParseCommandMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, says, not string }{
		{`{"action":"subscribe","topic":5,"id":10}`, `"topic" must be a string`, "not a JSON object"},
		{`{"action":"subscribe","topic":"a","id":"x"}`, `"id" must be an integer`, "not a JSON object"},
		{`[1]`, "one JSON object", "not valid JSON"},
		{`{"action"`, "not valid JSON", ""},
		{`{"action":"` + strings.Repeat("x", 4000) + `","topic":"a"}`, "unknown action", strings.Repeat("x", 100)},
		{`{"action":"subscribe","topic":"a","id":` + strings.Repeat("1", 4000) + `}`, `"id" must be`, strings.Repeat("1", 100)},
	} {
		_, err := protocol.ParseCommand([]byte(tc.in))
		var pe *protocol.ProtocolError
		require.True(t, errors.As(err, &pe), "%.60s: %v", tc.in, err)
		assert.Contains(t, pe.Message, tc.says, "%.60s", tc.in)
		if tc.not != "" {
			assert.NotContains(t, pe.Message, tc.not, "%.60s", tc.in)
		}
		assert.LessOrEqual(t, len(pe.Message), protocol.MaxEcho)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`{"action":"subscribe","topic":"game:123"}`,
		`{"action":"subscribe","topic":"game:123","epoch":"k3Xq9a_Z","since":41,"id":7}`,
		`{"action":"unsubscribe","topic":"a","id":8}`,
		`{"action":"publish"}`,
		`{"id":1e2}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := protocol.ParseCommand(b)
		if c.HasID {
			assert.GreaterOrEqual(t, c.ID, int64(0))
			assert.LessOrEqual(t, c.ID, int64(1<<53))
		} else {
			assert.Zero(t, c.ID)
		}
		if err != nil {
			var pe *protocol.ProtocolError
			require.True(t, errors.As(err, &pe), "error %v is not a *ProtocolError", err)
			assert.Contains(t, []string{transport.CodeBadRequest, transport.CodeUnknownAction}, pe.Code)
			assert.False(t, c.Resume)
			// An error reply with this message and id is valid JSON.
			reply := protocol.AppendError(nil, pe, "", c.ID, c.HasID)
			assert.True(t, json.Valid(reply), "%s", reply)
			return
		}
		// A valid command is a JSON object with a known action and a topic.
		assert.True(t, json.Valid(b))
		assert.Contains(t, []string{transport.ActionSubscribe, transport.ActionUnsubscribe}, c.Action)
		assert.NotEmpty(t, c.Topic)
		if c.Resume {
			assert.Equal(t, transport.ActionSubscribe, c.Action)
			assert.LessOrEqual(t, c.Since, uint64(1<<53))
		} else {
			assert.Empty(t, c.Epoch)
			assert.Zero(t, c.Since)
		}
		// The replies that echo its topic are valid JSON, whatever the topic.
		if utf8.ValidString(c.Topic) {
			assert.True(t, json.Valid(protocol.AppendSubscribed(nil, c.Topic, c.ID, c.HasID)))
			assert.True(t, json.Valid(protocol.AppendUnsubscribed(nil, c.Topic, transport.ReasonRequested, c.ID, c.HasID)))
		}
	})
}
