package conns_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// TestPace checks the spread of a drain over three quarters of the time
// left: with 4s left and 50ms ticks, 60 batches.
func TestPace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		start := time.Now()
		var batches, ended int
		assert.True(t, conns.Pace(ctx, nil, 600, func(lo, hi int) {
			assert.Equal(t, ended, lo)
			batches++
			ended = hi
		}))
		assert.Equal(t, 600, ended)
		assert.Equal(t, 60, batches)
		assert.Equal(t, 59*conns.DrainTick, time.Since(start))
	})
}

// TestPaceNoDeadline ends at DrainRate per second without a deadline, and
// stops when hurried.
func TestPaceNoDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hurry := make(chan struct{})
		ended := 0
		done := conns.Pace(context.Background(), hurry, 2000, func(lo, hi int) {
			assert.Equal(t, 50, hi-lo, "1000 per second, a batch every 50ms")
			ended = hi
			if ended == 1000 {
				close(hurry)
			}
		})
		assert.False(t, done)
		assert.Equal(t, 1000, ended)
		assert.True(t, conns.Pace(context.Background(), nil, 0, nil))
	})
}
