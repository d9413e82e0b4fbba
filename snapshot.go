package fanout

import (
	"context"
	"fmt"
	"time"
)

// loadCall is one run of the loader; the joins waiting for it share its
// outcome.
type loadCall struct {
	done  chan struct{}
	err   error
	retry bool // err came from the loading join's context: waiters try again
}

// loadUnlock runs the loader for the cold topic t, whose lock the caller
// holds and which loadUnlock releases. Only one caller runs the loader;
// the others wait for it (or for ctx) and share its error, unless it
// failed because its own caller gave up. It returns nil when the caller
// should look at the topic again.
func (h *Hub) loadUnlock(ctx context.Context, t *topic) error {
	if call := t.loading; call != nil {
		t.mu.Unlock()
		select {
		case <-call.done:
			if call.retry {
				return nil
			}
			return call.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	call := &loadCall{done: make(chan struct{})}
	t.loading = call
	at := t.seq
	t.mu.Unlock()

	data, err := h.runLoader(ctx, t.name)

	t.mu.Lock()
	t.loading = nil
	call.err, call.retry = err, err != nil && ctx.Err() != nil
	close(call.done)
	if err == nil {
		t.loaded = true
		if data != nil && t.snap == nil {
			t.snap = &Message{Topic: t.name, Epoch: t.epoch, Seq: at, Time: time.Now(), Data: data}
		}
		if t.snap != nil && t.unpublished {
			_ = h.claimLocked(t, false) // cannot fail without check
		}
	}
	t.mu.Unlock()
	return err
}

func (h *Hub) runLoader(ctx context.Context, name string) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("snapshot loader panicked: %v", p)
		}
	}()
	data, err = h.opts.Loader(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("load snapshot: %w", err)
	}
	if len(data) > h.opts.MaxMessageSize {
		return nil, fmt.Errorf("load snapshot: %w: %d bytes, the limit is %d (Options.MaxMessageSize)", ErrTooLarge, len(data), h.opts.MaxMessageSize)
	}
	return data, nil
}
