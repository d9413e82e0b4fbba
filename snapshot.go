package fanout

import (
	"context"
	"fmt"
	"time"
)

// loadUnlock runs the loader for the cold topic t, whose lock the caller
// holds and which loadUnlock releases. Only one caller runs the loader;
// the others wait for it (or for ctx) and return nil so that the caller
// looks at the topic again.
func (h *Hub) loadUnlock(ctx context.Context, t *topic) error {
	if wait := t.loading; wait != nil {
		t.mu.Unlock()
		select {
		case <-wait:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	t.loading = done
	at := t.seq
	t.mu.Unlock()

	data, err := h.runLoader(ctx, t.name)

	t.mu.Lock()
	t.loading = nil
	close(done)
	if err == nil {
		t.loaded = true
		if data != nil && t.snap == nil {
			t.snap = &Message{Topic: t.name, Epoch: t.epoch, Seq: at, Time: time.Now(), Data: data}
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
