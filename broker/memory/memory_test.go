package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// chanSink records what a broker delivers on buffered channels.
type chanSink struct {
	pubs       chan fanout.Publication
	reconnects chan struct{}
	block      chan struct{} // when not nil, the first Receive waits for it to close
	entered    chan struct{} // closed when the first Receive has started
}

func newChanSink() *chanSink {
	return &chanSink{pubs: make(chan fanout.Publication, 10_000), reconnects: make(chan struct{}, 100)}
}

func (s *chanSink) Receive(p fanout.Publication) {
	if s.block != nil {
		close(s.entered)
		<-s.block
		s.block = nil
	}
	s.pubs <- p
}

func (s *chanSink) Reconnected() { s.reconnects <- struct{}{} }

func (s *chanSink) next(t *testing.T) fanout.Publication {
	t.Helper()
	select {
	case p := <-s.pubs:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a publication")
		return fanout.Publication{}
	}
}

func (s *chanSink) waitReconnected(t *testing.T) {
	t.Helper()
	select {
	case <-s.reconnects:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for Reconnected")
	}
}

func memConn(t *testing.T, mb *memory.Broker) (*memory.Conn, *chanSink) {
	t.Helper()
	c := mb.Connect()
	s := newChanSink()
	c.Bind(s)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c, s
}

func TestMemoryBrokerDropNext(t *testing.T) {
	ctx := t.Context()
	mb := memory.New(memory.Options{})
	c, s := memConn(t, mb)
	require.NoError(t, c.Subscribe(ctx, "t"))
	c.DropNext(2)
	for range 3 {
		_, err := c.Publish(ctx, "t", []byte("x"), nil, false)
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(3), s.next(t).Seq, "1 and 2 were dropped silently")
	assert.Empty(t, s.reconnects)
}

func TestMemoryBrokerQueueOverflowReconnects(t *testing.T) {
	const size = 8
	ctx := t.Context()
	mb := memory.New(memory.Options{QueueSize: size})
	c := mb.Connect()
	defer c.Close()
	s := newChanSink()
	s.block, s.entered = make(chan struct{}), make(chan struct{})
	c.Bind(s)
	require.NoError(t, c.Subscribe(ctx, "t"))
	_, err := c.Publish(ctx, "t", nil, nil, false)
	require.NoError(t, err)
	<-s.entered // the node is stuck in the sink with publication 1
	for range size + 1 {
		_, err := c.Publish(ctx, "t", nil, nil, false)
		require.NoError(t, err)
	}
	close(s.block)
	for seq := uint64(1); seq <= size+1; seq++ {
		require.Equal(t, seq, s.next(t).Seq)
	}
	s.waitReconnected(t) // publication size+2 did not fit
	assert.Empty(t, s.pubs)
}

func TestMemoryBrokerSetDown(t *testing.T) {
	ctx := t.Context()
	mb := memory.New(memory.Options{})
	c, s := memConn(t, mb)
	require.NoError(t, c.Subscribe(ctx, "t"))
	pos, err := c.Publish(ctx, "t", []byte("1"), []byte("state"), false)
	require.NoError(t, err)
	assert.Equal(t, pos, s.next(t).Position())

	mb.SetDown(true)
	mb.SetDown(true) // no-op
	assert.Error(t, c.Health())
	_, err = c.Publish(ctx, "t", nil, nil, false)
	assert.Error(t, err)
	assert.Error(t, c.Subscribe(ctx, "u"))
	assert.Error(t, c.Unsubscribe(ctx, "t"))
	_, err = c.Recover(ctx, "t", fanout.Position{}, 10)
	assert.Error(t, err)

	mb.SetDown(false)
	s.waitReconnected(t)
	assert.NoError(t, c.Health())
	rec, err := c.Recover(ctx, "t", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Equal(t, pos, rec.Head, "data survives an outage")
	assert.Equal(t, "state", string(rec.Snapshot.Data))
}

func TestMemoryBrokerMaxTopics(t *testing.T) {
	ctx := t.Context()
	mb := memory.New(memory.Options{MaxTopics: 2})
	c, _ := memConn(t, mb)
	for i := range 2 {
		_, err := c.Publish(ctx, fmt.Sprint("t", i), nil, nil, false)
		require.NoError(t, err)
	}
	_, err := c.Publish(ctx, "t2", nil, nil, false)
	assert.ErrorIs(t, err, fanout.ErrLimit)
	_, err = c.Recover(ctx, "t3", fanout.Position{}, 0)
	assert.ErrorIs(t, err, fanout.ErrLimit)
	mb.Flush()
	_, err = c.Publish(ctx, "t2", nil, nil, false)
	assert.NoError(t, err, "Flush forgets the topics")
}

func TestMemoryBrokerNodesGetTheirOwnMessages(t *testing.T) {
	ctx := t.Context()
	mb := memory.New(memory.Options{})
	a, sa := memConn(t, mb)
	b, sb := memConn(t, mb)
	require.NoError(t, a.Subscribe(ctx, "t"))
	require.NoError(t, b.Subscribe(ctx, "t"))
	_, err := a.Publish(ctx, "t", []byte("x"), nil, false)
	require.NoError(t, err)
	pa, pb := sa.next(t), sb.next(t)
	assert.NotSame(t, pa.Message, pb.Message, "a remote broker's nodes share nothing")
	assert.Equal(t, pa.Position(), pb.Position())
	rec, err := b.Recover(ctx, "t", fanout.Position{}, 1)
	require.NoError(t, err)
	require.Len(t, rec.Messages, 1)
	assert.NotSame(t, pb.Message, rec.Messages[0])
}

func TestMemoryBrokerClose(t *testing.T) {
	ctx := t.Context()
	mb := memory.New(memory.Options{})
	a, _ := memConn(t, mb)
	b, sb := memConn(t, mb)
	require.NoError(t, a.Subscribe(ctx, "t"))
	require.NoError(t, b.Subscribe(ctx, "t"))
	require.NoError(t, a.Close())
	require.NoError(t, a.Close())
	assert.ErrorIs(t, a.Health(), fanout.ErrClosed)
	_, err := a.Publish(ctx, "t", nil, nil, false)
	assert.ErrorIs(t, err, fanout.ErrClosed)
	pos, err := b.Publish(ctx, "t", nil, nil, false)
	require.NoError(t, err)
	assert.Equal(t, pos, sb.next(t).Position(), "the other node is unaffected")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = b.Publish(cancelled, "t", nil, nil, false)
	assert.ErrorIs(t, err, context.Canceled)
}
