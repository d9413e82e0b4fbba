package conns_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

func TestLag(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	joined := t0.Add(-time.Minute)
	ds := []fanout.Delivery{{Message: &fanout.Message{Time: t0}}, {Message: &fanout.Message{Time: t0.Add(time.Second)}}}
	assert.Equal(t, t0, conns.Since(ds, joined), "the oldest message's publication")
	assert.Equal(t, t0.Add(time.Hour), conns.Since(ds, t0.Add(time.Hour)), "a replay is undelivered from the join")
	assert.Equal(t, joined, conns.Since(nil, joined))

	l := conns.NewLag(10*time.Second, 100)
	assert.False(t, l.Over(t0.Add(10*time.Second), t0))
	assert.True(t, l.Over(t0.Add(11*time.Second), t0))
	assert.Equal(t, t0.Add(10*time.Second), l.Deadline(t0.Add(5*time.Second), t0, time.Minute), "the lag bound comes first")
	assert.Equal(t, t0.Add(6*time.Second), l.Deadline(t0.Add(5*time.Second), t0, time.Second), "the timeout comes first")
	assert.Equal(t, t0.Add(time.Second), l.Deadline(t0, time.Time{}, time.Second), "no message: the timeout")

	assert.False(t, l.Took(60, false))
	assert.True(t, l.Took(60, false), "120 bytes behind")
	assert.False(t, l.Took(60, true), "caught up")
	assert.False(t, l.Took(60, false), "counted again from zero")

	off := conns.NewLag(-1, -1)
	assert.False(t, off.Over(t0.Add(time.Hour), t0))
	assert.False(t, off.Took(1<<40, false))
	assert.Equal(t, t0.Add(time.Minute), off.Deadline(t0, t0, time.Minute))
}
