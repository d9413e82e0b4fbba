package client_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffGrowsToMax(t *testing.T) {
	t.Parallel()
	top := func(n int64) int64 { return n - 1 } // the largest delay the jitter allows
	b := client.NewBackoff(100*time.Millisecond, 2*time.Second, top)
	var got []time.Duration
	for range 8 {
		got = append(got, b.Next()+1)
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2000 * ms, 2000 * ms, 2000 * ms}, got)

	b.Reset()
	assert.Equal(t, 100*ms, b.Ceiling(), "reset starts again from the minimum")
}

func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	const attempts, runs = 6, 200
	min, max := 10*time.Millisecond, time.Second
	seen := make(map[time.Duration]bool)
	for range runs {
		b := client.NewBackoff(min, max, rng.Int64N)
		for i := range attempts {
			ceiling := b.Ceiling()
			require.Equal(t, min<<i, ceiling)
			d := b.Next()
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, ceiling)
			if i == attempts-1 {
				seen[d] = true
			}
		}
	}
	// Full jitter spreads the clients: the last attempt's delays of 200
	// clients are nearly all different, and use both halves of the range.
	assert.Greater(t, len(seen), runs*9/10)
	var low, high int
	for d := range seen {
		if d < (min<<(attempts-1))/2 {
			low++
		} else {
			high++
		}
	}
	assert.Positive(t, low)
	assert.Positive(t, high)
}

func TestBackoffZeroRandom(t *testing.T) {
	t.Parallel()
	b := client.NewBackoff(time.Millisecond, time.Second, func(int64) int64 { return 0 })
	for range 100 {
		require.Zero(t, b.Next())
	}
	assert.Equal(t, time.Second, b.Ceiling(), "the ceiling saturates at the maximum without overflowing")
}

func TestBucketPaces(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	b := client.NewBucket(10, 3, now)
	for range 3 {
		require.True(t, b.Take(now))
	}
	require.False(t, b.Take(now), "the burst is spent")
	assert.Equal(t, 100*time.Millisecond, b.Wait(now))
	now = now.Add(50 * time.Millisecond)
	require.False(t, b.Take(now))
	now = now.Add(50 * time.Millisecond)
	require.True(t, b.Take(now), "a token every 1/rate")
	now = now.Add(time.Hour)
	for range 3 {
		require.True(t, b.Take(now))
	}
	require.False(t, b.Take(now), "tokens never exceed the burst")
}

func TestReconnectDelays(t *testing.T) {
	t.Parallel()
	top := func(n int64) int64 { return n - 1 }
	ms := time.Millisecond
	short, long := 50*ms, time.Minute
	network := errors.New("connection reset")
	slow := websocket.CloseError{Code: transport.CloseSlowConsumer, Reason: "slow consumer"}

	t.Run("failures grow the backoff; a healthy connection resets it", func(t *testing.T) {
		r := client.NewReconnector(100*ms, 10*time.Second, top)
		assert.Equal(t, 100*ms, r.First(network, short)+1)
		assert.Equal(t, 200*ms, r.Retry()+1)
		assert.Equal(t, 400*ms, r.Retry()+1)
		assert.Equal(t, 800*ms, r.First(network, short)+1, "a short connection does not reset it")
		assert.Equal(t, 100*ms, r.First(network, long)+1, "a connection that lived longer than MaxBackoff does")
	})
	t.Run("prompt closes reset it, but not forever", func(t *testing.T) {
		r := client.NewReconnector(100*ms, 10*time.Second, top)
		r.First(network, short)
		assert.Equal(t, 200*ms, r.Retry()+1, "the backoff has grown")
		for range 3 {
			assert.Equal(t, 100*ms, r.First(slow, short)+1, "4000: at once, with jitter")
		}
		assert.Equal(t, 200*ms, r.First(slow, short)+1, "a fourth in a row, on short connections, backs off")
		assert.Equal(t, 400*ms, r.First(slow, short)+1)
		assert.Equal(t, 100*ms, r.First(slow, long)+1, "after a healthy connection, prompt again")
	})
}

func TestRetryAfterParses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // a date in the past: at once
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999", 0, false}, // beyond 32 bits: not a delay the client takes
		{"soon", 0, false},
	} {
		got, ok := client.RetryAfter(tc.v, now)
		assert.Equal(t, tc.ok, ok, "%q", tc.v)
		assert.Equal(t, tc.want, got, "%q", tc.v)
	}
}

func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	top := func(n int64) int64 { return n - 1 }
	now := time.Now()
	resp := func(code int, after string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		if after != "" {
			r.Header.Set("Retry-After", after)
		}
		return r
	}
	dialErr := errors.New("handshake failed")
	const limit = 10 * time.Second
	for _, tc := range []struct {
		name string
		resp *http.Response
		want time.Duration // added to the backoff's delay
	}{
		{"503 with Retry-After", resp(http.StatusServiceUnavailable, "3"), 3 * time.Second},
		{"429 with Retry-After", resp(http.StatusTooManyRequests, "2"), 2 * time.Second},
		{"Retry-After beyond the limit", resp(http.StatusServiceUnavailable, "3600"), limit},
		{"503 without Retry-After", resp(http.StatusServiceUnavailable, ""), 0},
		{"500 with Retry-After", resp(http.StatusInternalServerError, "3"), 0},
		{"no response", nil, 0},
	} {
		err := client.Busy(tc.resp, dialErr, now)
		if err == nil {
			err = dialErr
		} else {
			assert.ErrorIs(t, err, dialErr, tc.name)
		}
		b := client.NewBackoff(100*time.Millisecond, limit, top)
		got := client.RetryDelay(fmt.Errorf("connect: %w", err), b, limit)
		assert.Equal(t, 100*time.Millisecond-1+tc.want, got, tc.name)
	}
}
