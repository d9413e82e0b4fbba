package conns

import "sync/atomic"

// States of a Writer.
const (
	writerIdle    uint32 = iota // no writer; the next TryStart takes the role
	writerRunning               // a goroutine holds the writer role
	writerStopped               // the connection ended: nobody takes the role again
)

// Writer is the writer role of one connection, for the on-demand writer
// both streaming transports use: a goroutine that exists only while the
// connection has something to write, so that an idle connection holds
// none. A wake-up (the subscriber's OnReady) calls TryStart and, when it
// takes the role, starts the goroutine; the goroutine writes until nothing
// is left and calls Release, which gives the role up and takes it back
// when work came meanwhile. No wake-up is lost: work queued after the
// writer's last look either finds the role free, and starts a writer, or
// is found by Release's look.
//
// A Writer is safe for concurrent use. Call Init before use; it must not
// be copied after.
type Writer struct {
	state atomic.Uint32
	idle  chan struct{} // receives a value when the role is given up; nil unless Init made it for Stop
}

// Init sets the Writer up: held says whether the caller holds the role
// from the start (a request's goroutine that writes first), and waitable
// whether Stop will be used (it needs a channel, which a connection that
// never waits does not pay for).
func (w *Writer) Init(held, waitable bool) {
	if held {
		w.state.Store(writerRunning)
	}
	if waitable {
		w.idle = make(chan struct{}, 1)
	}
}

// Busy reports whether the role is taken or the Writer stopped: then a
// wake-up has nothing to do. It is the cheap look before TryStart.
func (w *Writer) Busy() bool { return w.state.Load() != writerIdle }

// TryStart takes the role if it is free, and reports whether it did; the
// caller then writes, or starts the goroutine that does.
func (w *Writer) TryStart() bool { return w.state.CompareAndSwap(writerIdle, writerRunning) }

// Release gives the role up, then looks for work with more and takes the
// role back if there is some and nobody took it meanwhile. It reports
// whether the caller holds the role again and must go on writing; false
// means the caller's goroutine ends (also when the Writer was stopped).
func (w *Writer) Release(more func() bool) bool {
	if !w.state.CompareAndSwap(writerRunning, writerIdle) {
		return false // stopped meanwhile
	}
	if w.idle != nil {
		select {
		case w.idle <- struct{}{}:
		default:
		}
	}
	return more() && w.state.CompareAndSwap(writerIdle, writerRunning)
}

// Kill stops the Writer at once: nobody takes the role again, and a
// goroutine that holds it ends at its Release.
func (w *Writer) Kill() { w.state.Store(writerStopped) }

// Stop waits until nobody holds the role, then stops the Writer, so that
// when it returns no writer runs or will start. The Writer must have been
// made waitable by Init, and whatever makes the writer end soon (a
// closed connection) must be done first.
func (w *Writer) Stop() {
	for !w.state.CompareAndSwap(writerIdle, writerStopped) {
		if w.state.Load() == writerStopped {
			return
		}
		<-w.idle
	}
}
