package client_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	at := fanout.Position{Epoch: "E1", Seq: 10}
	msg := func(k fanout.Kind, epoch string, seq uint64, gap bool) client.Message {
		return client.Message{Kind: k, Topic: "a", Epoch: epoch, Seq: seq, Gap: gap}
	}
	tests := []struct {
		name string
		has  bool
		m    client.Message
		want int
	}{
		{"first snapshot", false, msg(fanout.Snapshot, "E1", 4, false), client.Deliver},
		{"first update of a topic without snapshot", false, msg(fanout.Update, "E1", 4, false), client.Deliver},
		{"next update", true, msg(fanout.Update, "E1", 11, false), client.Deliver},
		{"duplicate update", true, msg(fanout.Update, "E1", 10, false), client.Drop},
		{"old update", true, msg(fanout.Update, "E1", 3, false), client.Drop},
		{"hole without gap", true, msg(fanout.Update, "E1", 12, false), client.Lost},
		{"hole marked gap", true, msg(fanout.Update, "E1", 15, true), client.Deliver},
		{"update of another epoch", true, msg(fanout.Update, "E2", 11, false), client.Lost},
		{"update of another epoch with gap", true, msg(fanout.Update, "E2", 1, true), client.Lost},
		{"reset of another epoch", true, msg(fanout.Reset, "E2", 1, false), client.Deliver},
		{"reset ahead", true, msg(fanout.Reset, "E1", 40, false), client.Deliver},
		{"stale reset", true, msg(fanout.Reset, "E1", 7, false), client.Drop},
		{"stale snapshot", true, msg(fanout.Snapshot, "E1", 10, false), client.Drop},
		{"newer snapshot", true, msg(fanout.Snapshot, "E1", 12, false), client.Deliver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, client.Judge(at, tt.has, tt.m))
		})
	}
}

func TestReconnectPolicy(t *testing.T) {
	t.Parallel()
	closed := func(code websocket.StatusCode) error {
		return fmt.Errorf("read: %w", websocket.CloseError{Code: code, Reason: "x"})
	}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"network error", &net.OpError{Op: "read", Err: errors.New("connection reset")}, client.WithDelay},
		{"eof", fmt.Errorf("read: %w", net.ErrClosed), client.WithDelay},
		{"no close frame", closed(websocket.StatusAbnormalClosure), client.WithDelay},
		{"own overflow", client.ErrOverflow, client.Promptly},
		{"lost position", client.ErrLost, client.WithDelay},
		{"1000 normal", closed(websocket.StatusNormalClosure), client.Stop},
		{"1001 going away", closed(websocket.StatusGoingAway), client.WithDelay},
		{"1008 forbidden", closed(websocket.StatusPolicyViolation), client.Stop},
		{"1009 too big", closed(websocket.StatusMessageTooBig), client.WithDelay},
		{"1011 internal", closed(websocket.StatusInternalError), client.WithDelay},
		{"1013 try later", closed(websocket.StatusTryAgainLater), client.WithDelay},
		{"4000 slow consumer", closed(4000), client.Promptly},
		{"4001 drain", closed(4001), client.Promptly},
		{"4002 protocol violation", closed(4002), client.WithDelay},
		{"4003 application refusal", closed(4003), client.Stop},
		{"3000 unknown", closed(3000), client.Stop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, client.ReconnectPolicy(tt.err))
		})
	}
}

// docs/protocol.md: a client that can read the answer does not retry a
// 4xx other than 429.
func TestRefusalIsEvery4xxBut429(t *testing.T) {
	t.Parallel()
	dialErr := errors.New("handshake failed")
	for code := 100; code < 600; code++ {
		err := client.Refusal(&http.Response{StatusCode: code, Status: strconv.Itoa(code)}, dialErr)
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests {
			var re *client.RefusedError
			if assert.ErrorAs(t, err, &re, "%d", code) {
				assert.Equal(t, code, re.StatusCode)
				assert.ErrorIs(t, err, dialErr)
			}
			continue
		}
		assert.NoError(t, err, "%d is retried", code)
	}
	assert.NoError(t, client.Refusal(nil, dialErr), "no answer: retried")
}

func TestParseFrame(t *testing.T) {
	t.Parallel()
	frame := `{"type":"snapshot","topic":"game:1","epoch":"k3Xq9a_Z","seq":41,"data":{"score":"1-1"}}
{"type":"subscribed","topic":"game:1","id":3}
{"type":"update","topic":"game:1","epoch":"k3Xq9a_Z","seq":45,"gap":true,"data":[1,2]}

{"type":"reset","topic":"game:1","epoch":"Zt9a0000","seq":7,"data":null}
{"type":"future","whatever":1}
`
	msgs, types, err := client.ParseFrame([]byte(frame))
	require.NoError(t, err)
	assert.Equal(t, []string{"snapshot", "subscribed", "update", "reset", "future"}, types)
	require.Len(t, msgs, 3)
	assert.Equal(t, client.Message{Kind: fanout.Snapshot, Topic: "game:1", Epoch: "k3Xq9a_Z", Seq: 41, Data: []byte(`{"score":"1-1"}`)}, msgs[0])
	assert.Equal(t, client.Message{Kind: fanout.Update, Topic: "game:1", Epoch: "k3Xq9a_Z", Seq: 45, Gap: true, Data: []byte(`[1,2]`)}, msgs[1])
	assert.Equal(t, client.Message{Kind: fanout.Reset, Topic: "game:1", Epoch: "Zt9a0000", Seq: 7}, msgs[2], "a null state is nil Data")
	assert.Equal(t, fanout.Position{Epoch: "Zt9a0000", Seq: 7}, msgs[2].Position())

	msgs, _, err = client.ParseFrame([]byte(`{"type":"update","topic":"a","epoch":"e","seq":1,"data":[1]}` + "\n" +
		`{"type":"update","topic":"a","epoch":"e","seq":2,"data":[2]}`))
	require.NoError(t, err)
	_ = append(msgs[0].Data, "XXXXXXXX"...)
	assert.Equal(t, "[2]", string(msgs[1].Data), "appending to one message's data leaves the next alone")

	msgs, _, err = client.ParseFrame([]byte("{\"type\":\"update\",\"topic\":\"a\",\"epoch\":\"e\",\"seq\":1,\"data\":1}\n{oops"))
	require.Error(t, err)
	assert.Len(t, msgs, 1, "the objects before a bad one are kept")
}

func TestTopicErrorText(t *testing.T) {
	t.Parallel()
	err := error(&client.TopicError{Topic: "secret", Code: "forbidden", Message: "not yours"})
	assert.Equal(t, `fanout: topic "secret" refused: forbidden: not yours`, err.Error())
	var te *client.TopicError
	require.ErrorAs(t, fmt.Errorf("wrapped: %w", err), &te)
	assert.Equal(t, "forbidden", te.Code)
}

func TestQueueKeepsOrderAcrossWrapAndGrowth(t *testing.T) {
	t.Parallel()
	got := client.QueueOrder(10, -7, 12, -3, 30, -100) // wraps the first ring of 16, then grows twice
	want := make([]uint64, 52)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	assert.Equal(t, want, got)
}
