package conns_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// TestWriterNoLostWakeup has many wake-ups race with writers that give the
// role up: every unit of work is written, by one writer at a time.
func TestWriterNoLostWakeup(t *testing.T) {
	t.Parallel()
	var w conns.Writer
	w.Init(false, true)
	var queued, written atomic.Int64
	var writing atomic.Int32
	var writers sync.WaitGroup
	write := func() {
		defer writers.Done()
		for {
			if writing.Add(1) != 1 {
				t.Error("two writers at once")
			}
			for queued.Load() > written.Load() {
				written.Add(1)
			}
			writing.Add(-1)
			if !w.Release(func() bool { return queued.Load() > written.Load() }) {
				return
			}
		}
	}
	wake := func() {
		if w.TryStart() {
			writers.Add(1)
			go write()
		}
	}
	var wakers sync.WaitGroup
	for range 4 {
		wakers.Go(func() {
			for range 2000 {
				queued.Add(1)
				wake()
			}
		})
	}
	wakers.Wait()
	w.Stop()
	writers.Wait()
	assert.Equal(t, queued.Load(), written.Load(), "a wake-up was lost")
	assert.False(t, w.TryStart(), "stopped")
	assert.True(t, w.Busy())
	w.Stop() // twice is fine
}

// TestWriterHeldAndKilled: a Writer held from the start is busy until
// released; once killed, its holder's Release ends it.
func TestWriterHeldAndKilled(t *testing.T) {
	t.Parallel()
	var w conns.Writer
	w.Init(true, false)
	assert.True(t, w.Busy())
	assert.False(t, w.TryStart())
	assert.False(t, w.Release(func() bool { return false }))
	assert.False(t, w.Busy())
	assert.True(t, w.TryStart())
	w.Kill()
	assert.False(t, w.Release(func() bool { return true }), "killed: the holder ends")
	assert.False(t, w.TryStart())
}
