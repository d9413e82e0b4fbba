package ratelimit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout/internal/ratelimit"
)

func TestBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	b := ratelimit.New(10, 3, t0)
	for range 3 {
		assert.True(t, b.Take(t0), "the burst")
	}
	assert.False(t, b.Take(t0))
	assert.Equal(t, 100*time.Millisecond, b.Wait(t0))
	assert.False(t, b.Take(t0.Add(99*time.Millisecond)))
	assert.True(t, b.Take(t0.Add(100*time.Millisecond)), "one token in 1/rate")
	assert.False(t, b.Take(t0.Add(50*time.Millisecond)), "time going back earns nothing")
	assert.True(t, b.Take(t0.Add(time.Hour)))
	assert.True(t, b.Take(t0.Add(time.Hour)))
	assert.True(t, b.Take(t0.Add(time.Hour)))
	assert.False(t, b.Take(t0.Add(time.Hour)), "at most the burst, however long the wait")
	assert.Zero(t, b.Wait(t0.Add(2*time.Hour)))
}
