package transport_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fanout-go/fanout/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want transport.Command
		code string // the error code, "" for success
	}{
		{"subscribe", `{"action":"subscribe","topic":"game:123"}`,
			transport.Command{Action: "subscribe", Topic: "game:123"}, ""},
		{"resume with id", `{"action":"subscribe","topic":"game:123","epoch":"k3Xq9a_Z","since":41,"id":7}`,
			transport.Command{Action: "subscribe", Topic: "game:123", Epoch: "k3Xq9a_Z", Since: 41, Resume: true, ID: 7, HasID: true}, ""},
		{"since zero", `{"action":"subscribe","topic":"a","epoch":"e","since":0}`,
			transport.Command{Action: "subscribe", Topic: "a", Epoch: "e", Resume: true}, ""},
		{"unsubscribe", `{"action":"unsubscribe","topic":"a","id":8}`,
			transport.Command{Action: "unsubscribe", Topic: "a", ID: 8, HasID: true}, ""},
		{"unknown fields ignored", `{"action":"subscribe","topic":"a","x":[1,{"y":2}]}`,
			transport.Command{Action: "subscribe", Topic: "a"}, ""},
		{"whitespace", " \n{ \"action\" : \"subscribe\" , \"topic\" : \"a\" }\n ",
			transport.Command{Action: "subscribe", Topic: "a"}, ""},
		{"largest id", `{"action":"subscribe","topic":"a","id":9007199254740992}`,
			transport.Command{Action: "subscribe", Topic: "a", ID: 1 << 53, HasID: true}, ""},
		{"topic not checked here", `{"action":"subscribe","topic":"a b"}`,
			transport.Command{Action: "subscribe", Topic: "a b"}, ""},

		{"empty", ``, transport.Command{}, transport.CodeBadRequest},
		{"id a string", `{"action":"subscribe","topic":"a","id":"7"}`, transport.Command{}, transport.CodeBadRequest},
		{"since a string", `{"action":"subscribe","topic":"a","epoch":"e","since":"4"}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since null", `{"action":"subscribe","topic":"a","epoch":"e","since":null}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"id with leading zero", `{"action":"subscribe","topic":"a","id":07}`, transport.Command{}, transport.CodeBadRequest},
		{"not JSON", `subscribe a`, transport.Command{}, transport.CodeBadRequest},
		{"truncated", `{"action":"subscribe"`, transport.Command{}, transport.CodeBadRequest},
		{"array", `[]`, transport.Command{}, transport.CodeBadRequest},
		{"null", `null`, transport.Command{}, transport.CodeBadRequest},
		{"two objects", `{"action":"subscribe","topic":"a"} {}`, transport.Command{}, transport.CodeBadRequest},
		{"no action", `{"topic":"a","id":1}`, transport.Command{ID: 1, HasID: true}, transport.CodeBadRequest},
		{"empty action", `{"action":"","topic":"a"}`, transport.Command{}, transport.CodeBadRequest},
		{"action not a string", `{"action":1,"topic":"a"}`, transport.Command{}, transport.CodeBadRequest},
		{"unknown action", `{"action":"publish","topic":"a","id":2}`,
			transport.Command{Action: "publish", ID: 2, HasID: true}, transport.CodeUnknownAction},
		{"action is case sensitive", `{"action":"Subscribe","topic":"a"}`,
			transport.Command{Action: "Subscribe"}, transport.CodeUnknownAction},
		{"no topic", `{"action":"subscribe","id":3}`,
			transport.Command{Action: "subscribe", ID: 3, HasID: true}, transport.CodeBadRequest},
		{"epoch without since", `{"action":"subscribe","topic":"a","epoch":"e"}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since without epoch", `{"action":"subscribe","topic":"a","since":4}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"resume on unsubscribe", `{"action":"unsubscribe","topic":"a","epoch":"e","since":4}`,
			transport.Command{Action: "unsubscribe", Topic: "a"}, transport.CodeBadRequest},
		{"negative since", `{"action":"subscribe","topic":"a","epoch":"e","since":-1}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"fractional since", `{"action":"subscribe","topic":"a","epoch":"e","since":1.5}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"exponent since", `{"action":"subscribe","topic":"a","epoch":"e","since":1e3}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"since too big", `{"action":"subscribe","topic":"a","epoch":"e","since":9007199254740993}`,
			transport.Command{Action: "subscribe", Topic: "a"}, transport.CodeBadRequest},
		{"negative id", `{"action":"subscribe","topic":"a","id":-1}`, transport.Command{}, transport.CodeBadRequest},
		{"id too big", `{"action":"subscribe","topic":"a","id":9007199254740993}`, transport.Command{}, transport.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := transport.ParseCommand([]byte(tc.in))
			if tc.code == "" {
				require.NoError(t, err)
			} else {
				var pe *transport.ProtocolError
				require.True(t, errors.As(err, &pe), "error %v", err)
				assert.Equal(t, tc.code, pe.Code)
				assert.NotEmpty(t, pe.Message)
				assert.True(t, strings.HasPrefix(pe.Error(), "fanout: "), pe.Error())
			}
			assert.Equal(t, tc.want, got)
		})
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
		c, err := transport.ParseCommand(b)
		if c.HasID {
			assert.GreaterOrEqual(t, c.ID, int64(0))
			assert.LessOrEqual(t, c.ID, int64(1<<53))
		} else {
			assert.Zero(t, c.ID)
		}
		if err != nil {
			var pe *transport.ProtocolError
			require.True(t, errors.As(err, &pe), "error %v is not a *ProtocolError", err)
			assert.Contains(t, []string{transport.CodeBadRequest, transport.CodeUnknownAction}, pe.Code)
			assert.False(t, c.Resume)
			// An error reply with this message and id is valid JSON.
			reply := transport.AppendError(nil, pe, "", c.ID, c.HasID)
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
			assert.True(t, json.Valid(transport.AppendSubscribed(nil, c.Topic, c.ID, c.HasID)))
			assert.True(t, json.Valid(transport.AppendUnsubscribed(nil, c.Topic, transport.ReasonRequested, c.ID, c.HasID)))
		}
	})
}
