package protocol_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncode(t *testing.T) {
	t.Parallel()
	msg := func(data string) *fanout.Message {
		return &fanout.Message{Topic: "game:123", Epoch: "k3Xq9a_Z", Seq: 42, Data: []byte(data)}
	}
	for _, tc := range []struct {
		name string
		d    fanout.Delivery
		want string
	}{
		{"update", fanout.Delivery{Message: msg(`{"score":"2-1"}`)},
			`{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data":{"score":"2-1"}}`},
		{"gap", fanout.Delivery{Message: msg(`1`), Gap: true},
			`{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"gap":true,"data":1}`},
		{"snapshot", fanout.Delivery{Message: msg(`[1,2]`), Kind: fanout.Snapshot},
			`{"type":"snapshot","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data":[1,2]}`},
		{"reset without state", fanout.Delivery{Message: msg(``), Kind: fanout.Reset},
			`{"type":"reset","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data":null}`},
		{"payload not JSON", fanout.Delivery{Message: msg("hello \"you\"\n")},
			`{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data":"hello \"you\"\n"}`},
		{"payload with spaces", fanout.Delivery{Message: msg(` {"a" : 1} `)},
			`{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":42,"data": {"a" : 1} }`},
		{"odd topic escaped", fanout.Delivery{Message: &fanout.Message{Topic: `a"<b>`, Epoch: "e", Seq: 1, Data: []byte(`true`)}},
			`{"type":"update","topic":"a\"\u003cb\u003e","epoch":"e","seq":1,"data":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := protocol.Encode(tc.d)
			assert.Equal(t, tc.want, string(got))
			assert.True(t, json.Valid(got))
			assert.NotContains(t, string(got), "\n", "one message is one line")
		})
	}
}

func TestEncodeOncePerForm(t *testing.T) {
	m := &fanout.Message{Topic: "t", Epoch: "e", Seq: 1, Data: []byte(`1`)}
	up := protocol.Encode(fanout.Delivery{Message: m})
	snap := protocol.Encode(fanout.Delivery{Message: m, Kind: fanout.Snapshot})
	assert.NotEqual(t, string(up), string(snap))
	assert.Same(t, &up[0], &protocol.Encode(fanout.Delivery{Message: m})[0], "shared, not re-encoded")
	assert.Same(t, &snap[0], &protocol.Encode(fanout.Delivery{Message: m, Kind: fanout.Snapshot})[0])
	allocs := testing.AllocsPerRun(100, func() { protocol.Encode(fanout.Delivery{Message: m}) })
	assert.Zero(t, allocs)
}

func TestReplies(t *testing.T) {
	t.Parallel()
	forbidden := protocol.Errorf(transport.CodeForbidden, "not for %s", "you")
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"subscribed", protocol.AppendSubscribed(nil, "a", 0, false), `{"type":"subscribed","topic":"a"}`},
		{"subscribed id 0", protocol.AppendSubscribed(nil, "a", 0, true), `{"type":"subscribed","topic":"a","id":0}`},
		{"unsubscribed", protocol.AppendUnsubscribed(nil, "a", transport.ReasonRequested, 8, true),
			`{"type":"unsubscribed","topic":"a","reason":"requested","id":8}`},
		{"error", protocol.AppendError(nil, forbidden, "secret", 3, true),
			`{"type":"error","code":"forbidden","message":"not for you","topic":"secret","id":3}`},
		{"error without topic or id", protocol.AppendError(nil, protocol.Errorf(transport.CodeBadRequest, `bad "x"`), "", 0, false),
			`{"type":"error","code":"bad_request","message":"bad \"x\""}`},
		{"appends", protocol.AppendSubscribed([]byte("x\n"), "a", 1, true), "x\n" + `{"type":"subscribed","topic":"a","id":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, string(tc.got))
		})
	}
}

func TestFromError(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	sub := hub.NewSubscriber(fanout.SubscriberOptions{MaxSubscriptions: 1})
	defer sub.Close()
	ctx := t.Context()

	code := func(err error) string {
		require.Error(t, err)
		return protocol.FromError(err).Code
	}
	assert.Equal(t, transport.CodeInvalidTopic, code(sub.Subscribe(ctx, "a b")))
	require.NoError(t, sub.Subscribe(ctx, "a"))
	assert.Equal(t, transport.CodeAlreadySubscribed, code(sub.Subscribe(ctx, "a")))
	assert.Equal(t, transport.CodeLimit, code(sub.Subscribe(ctx, "b")))
	assert.Equal(t, transport.CodeNotSubscribed, code(sub.Unsubscribe("b")))
	assert.Equal(t, transport.CodeNotFound, code(fmt.Errorf("subscribe %q: %w", "x", fanout.ErrNotFound)))
	pe := protocol.Errorf(transport.CodeForbidden, "no")
	assert.Same(t, pe, protocol.FromError(pe))
	other := protocol.FromError(assert.AnError)
	assert.Equal(t, transport.CodeUnavailable, other.Code)
	assert.NotContains(t, other.Message, assert.AnError.Error(), "internals are not shown")
}

// TestEchoesBounded checks that an error reply echoes at most MaxEcho
// bytes of message and no topic longer than MaxEchoTopic, whatever the
// hook or the client gave.
func TestEchoesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 10000)
	b := protocol.AppendError(nil, protocol.Errorf(transport.CodeForbidden, "%s", long), strings.Repeat("t", 5000), 10, true)
	assert.True(t, json.Valid(b), "%s", b)
	assert.Less(t, len(b), protocol.MaxEcho+200, "%d bytes", len(b))
	assert.Contains(t, string(b), `"id":10`)
	assert.NotContains(t, string(b), `"topic"`)

	assert.Equal(t, "abc", protocol.Clip("abc", 3))
	assert.Equal(t, "a...", protocol.Clip("abcdef", 4))
	assert.Equal(t, "...", protocol.Clip("ééé", 4), "cut at a rune boundary")

	var j protocol.Joiner
	for i := range 1000 {
		j.Add(strings.Repeat("n", 300)+strconv.Itoa(i), long)
	}
	assert.LessOrEqual(t, len(j.String()), protocol.MaxEcho)
	assert.Contains(t, j.String(), "more")
}
