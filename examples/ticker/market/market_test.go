package market_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/ticker/market"
)

func TestMarketPublishesQuotes(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	defer hub.Close()
	m := market.New(hub, 50, 3)
	require.NoError(t, m.PublishAll())
	require.NoError(t, m.Step(5000))

	seen := map[string]bool{}
	for _, inst := range m.Instruments() {
		assert.False(t, seen[inst.Sym], "symbols are distinct")
		seen[inst.Sym] = true
		assert.NoError(t, fanout.ValidTopic(market.QuoteTopic(inst.Sym), 0))
	}
	for _, q := range m.Quotes() {
		assert.Positive(t, q.Price)
		assert.LessOrEqual(t, q.Low, q.Price)
		assert.GreaterOrEqual(t, q.High, q.Price)
		assert.LessOrEqual(t, len(q.Hist), market.HistLen)
		assert.Equal(t, q.Price, q.Hist[len(q.Hist)-1])
	}
	assert.Equal(t, uint64(1+50+5000), hub.Stats().Published)

	// A late joiner gets the latest quote at once (RetainLast).
	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	q := m.Quotes()[0]
	require.NoError(t, sub.Subscribe(context.Background(), market.QuoteTopic(q.Sym)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, fanout.Snapshot, d.Kind)
	var got market.Quote
	require.NoError(t, json.Unmarshal(d.Data, &got))
	assert.Equal(t, q, got)
}

// TestSlowSubscriberGetsTheNewestQuotes checks the topic configuration: a
// conflating subscriber that does not keep up holds one pending quote per
// instrument, the newest, marked as a gap, and is not disconnected.
func TestSlowSubscriberGetsTheNewestQuotes(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	defer hub.Close()
	m := market.New(hub, 10, 5)
	require.NoError(t, m.PublishAll())

	sub := hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 64, Overflow: fanout.OverflowConflate})
	defer sub.Close()
	for _, inst := range m.Instruments() {
		require.NoError(t, sub.Subscribe(context.Background(), market.QuoteTopic(inst.Sym)))
	}
	require.NoError(t, m.Step(10_000)) // far more than the queue holds
	require.NoError(t, sub.Err(), "a conflating subscriber is not dropped")

	latest := map[string]market.Quote{}
	buf := make([]fanout.Delivery, 128)
	n, err := sub.Drain(buf)
	require.NoError(t, err)
	assert.LessOrEqual(t, n, 20, "at most a snapshot and one quote per instrument")
	for _, d := range buf[:n] {
		var q market.Quote
		require.NoError(t, json.Unmarshal(d.Data, &q))
		latest[q.Sym] = q
	}
	for _, q := range m.Quotes() {
		assert.Equal(t, q.Price, latest[q.Sym].Price, "%s: the newest price", q.Sym)
	}
}

func TestMarketRunStopsWithItsContext(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	defer hub.Close()
	m := market.New(hub, 5, 9)
	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(context.Background(), market.IndexTopic))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, 1000) }()
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_, err := sub.Next(wait) // the market published its index
	require.NoError(t, err)
	cancel()
	require.NoError(t, <-done)

	hub.Close()
	assert.ErrorIs(t, m.Run(context.Background(), 1000), fanout.ErrClosed)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMarketExists(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	m := market.New(hub, 3, 1)
	assert.True(t, m.Exists(market.IndexTopic))
	for _, inst := range m.Instruments() {
		assert.True(t, m.Exists(market.QuoteTopic(inst.Sym)), inst.Sym)
	}
	assert.False(t, m.Exists(market.QuoteTopic("NOPE")))
	assert.False(t, m.Exists("NOPE"))
}
