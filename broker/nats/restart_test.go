package nats_test

import (
	"testing"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerRestart stops the NATS server and starts it again on the same
// port and store: publishing fails while it is down, the broker reports
// the reconnect, and the topic goes on in the same epoch from the same
// sequence number, with its history and snapshot.
func TestServerRestart(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{})
	s := newSink()
	b.Bind(s)
	ctx := ctxT(t)
	require.NoError(t, b.Subscribe(ctx, "r"))
	first, err := b.Publish(ctx, "r", []byte(`1`), []byte(`"one"`), false)
	require.NoError(t, err)
	require.Equal(t, uint64(1), s.next(t).Seq)

	ns.stop()
	_, err = b.Publish(ctx, "r", []byte(`lost`), nil, false)
	require.Error(t, err, "publish while the server is down")
	require.Error(t, b.Health())

	ns.start()
	s.waitReconnected(t)
	require.Eventually(t, func() bool { return b.Health() == nil }, defaultWait, tick)

	pos, err := b.Publish(ctx, "r", []byte(`2`), nil, false)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: first.Epoch, Seq: 2}, pos, "the failed publish took no seq")
	p := s.next(t)
	assert.Equal(t, pos, p.Position(), "the subscription survived the restart")

	rec, err := b.Recover(ctx, "r", first, 10)
	require.NoError(t, err)
	assert.Equal(t, pos, rec.Head)
	require.Len(t, rec.Messages, 1)
	assert.Equal(t, `2`, string(rec.Messages[0].Data))
	require.NotNil(t, rec.Snapshot)
	assert.Equal(t, `"one"`, string(rec.Snapshot.Data))
}
