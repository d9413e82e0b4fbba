package fanout_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// PublishStateRetry waits out an outage, with growing delays and one
// OnRetry call per failure, and returns the position once stored.
func TestPublishRetryRidesOutAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		h := fanout.NewHub(fanout.Options{Broker: mb.Connect()})
		defer func() { assert.NoError(t, h.Close()) }()

		mb.SetDown(true)
		var failures atomic.Int32
		r := fanout.Retry{MinDelay: time.Second, MaxDelay: 4 * time.Second, OnRetry: func(err error, n int) {
			assert.ErrorIs(t, err, fanout.ErrBroker)
			assert.Equal(t, failures.Add(1), int32(n), "failures counted from 1")
		}}
		type result struct {
			pos fanout.Position
			err error
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			pos, err := h.PublishStateRetry(t.Context(), "t", []byte("u"), []byte("s"), r)
			done <- result{pos, err}
		}()
		time.Sleep(30 * time.Second) // fake time: the outage lasts 30s
		synctest.Wait()
		// Waits of 0.5-1, 1-2, then 2-4 seconds: 9 to 17 attempts in 30s.
		n := failures.Load()
		assert.True(t, n >= 9 && n <= 17, "%d attempts in 30s", n)
		mb.SetDown(false)
		res := <-done
		require.NoError(t, res.err)
		assert.Equal(t, uint64(1), res.pos.Seq)
		assert.Equal(t, n, failures.Load(), "no OnRetry for the attempt that succeeded")
		assert.LessOrEqual(t, time.Since(start), 34*time.Second, "retried within MaxDelay of the broker's return")
	})
}

func TestPublishRetryDoesNotRetryPermanentErrors(t *testing.T) {
	mb := memory.New(memory.Options{})
	h := fanout.NewHub(fanout.Options{Broker: mb.Connect(), MaxMessageSize: 4})
	r := fanout.Retry{OnRetry: func(err error, _ int) { t.Errorf("retried %v", err) }}
	_, err := h.PublishRetry(t.Context(), "no spaces", nil, r)
	assert.ErrorIs(t, err, fanout.ErrInvalidTopic)
	_, err = h.PublishStateRetry(t.Context(), "t", []byte("12345"), nil, r)
	assert.ErrorIs(t, err, fanout.ErrTooLarge)
	require.NoError(t, h.Close())
	_, err = h.PublishRetry(t.Context(), "t", nil, r)
	assert.ErrorIs(t, err, fanout.ErrClosed)

	assert.True(t, fanout.Retryable(errors.Join(errors.New("x"), fanout.ErrBroker)))
	assert.False(t, fanout.Retryable(errors.New("other")))
}

// The caller's context bounds the retries; the error says both why the
// broker failed and why the retries stopped. A hub that closes ends them
// with ErrClosed.
func TestPublishRetryEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		h := fanout.NewHub(fanout.Options{Broker: mb.Connect()})
		mb.SetDown(true)

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := h.PublishRetry(ctx, "t", []byte("u"), fanout.Retry{})
		assert.ErrorIs(t, err, fanout.ErrBroker)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.True(t, strings.Contains(err.Error(), "gave up after"), err.Error())

		done := make(chan error, 1)
		go func() {
			_, err := h.PublishRetry(t.Context(), "t", []byte("u"), fanout.Retry{MinDelay: time.Hour, MaxDelay: time.Hour})
			done <- err
		}()
		synctest.Wait() // waiting an hour to retry
		require.NoError(t, h.Close())
		assert.ErrorIs(t, <-done, fanout.ErrClosed)

		_, err = h.PublishRetry(ctx, "t", nil, fanout.Retry{})
		assert.ErrorIs(t, err, context.DeadlineExceeded, "an ended context: no attempt")
	})
}

// Without a broker a publish does not fail over: PublishRetry is Publish.
func TestPublishRetryWithoutBroker(t *testing.T) {
	h := fanout.NewHub(fanout.Options{})
	defer h.Close()
	pos, err := h.PublishRetry(t.Context(), "t", []byte("u"), fanout.Retry{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), pos.Seq)
}
