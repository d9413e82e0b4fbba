package nats

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/fanout-go/fanout"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxAttempts bounds Publish's optimistic retries; each failed attempt
// means another publisher's message on the topic was stored meanwhile.
const maxAttempts = 1000

// Publish stores data as topic's next message and, when state is not nil
// or retainLast is set, replaces the topic's snapshot in the same atomic
// step; the stream then republishes the message to every node subscribed
// to topic.
//
// The topic's next sequence number comes from its newest stored message:
// Publish reads it and stores the new one only if it is still the newest
// (the Nats-Expected-Last-Subject-Sequence header), and tries again when
// another publisher came first. A timeout is ambiguous; Publish then looks
// whether its message was stored and returns its position if so.
func (b *Broker) Publish(ctx context.Context, topic string, data, state []byte, retainLast bool) (fanout.Position, error) {
	pos, err := b.publish(ctx, topic, data, state, retainLast)
	if err != nil {
		return fanout.Position{}, fmt.Errorf("nats publish %q: %w", topic, err)
	}
	return pos, nil
}

func (b *Broker) publish(ctx context.Context, topic string, data, state []byte, retainLast bool) (fanout.Position, error) {
	if b.isClosed() {
		return fanout.Position{}, ErrClosed
	}
	subj, err := b.subjectsFor(topic)
	if err != nil {
		return fanout.Position{}, err
	}
	id := newID()
	for range maxAttempts {
		last, err := b.lastMsg(ctx, subj.hist)
		if err != nil {
			return fanout.Position{}, fmt.Errorf("read head: %w", err)
		}
		var pos fanout.Position
		var prev uint64
		if last == nil {
			if pos.Epoch, err = b.newLifeEpoch(ctx); err != nil {
				return fanout.Position{}, err
			}
		} else {
			m, err := parseMeta(last.Header, len(last.Data))
			if err != nil {
				return fanout.Position{}, err
			}
			pos.Epoch, pos.Seq, prev = m.epoch, m.seq, last.Sequence
		}
		pos.Seq++
		now := time.Now()
		hist := historyMsg(subj.hist, pos, prev, id, now, data, state, retainLast)
		if state != nil || retainLast {
			snap := state
			if snap == nil {
				snap = data
			}
			err = b.storeBatch(ctx, hist, snapshotMsg(subj.snap, pos, now, snap), prev)
		} else {
			err = b.store(ctx, hist, prev)
		}
		switch {
		case err == nil:
			return pos, nil
		case isConflict(err):
			continue // another publisher came first: read the new head
		case errors.Is(err, jetstream.ErrNoStreamResponse):
			// No stream listens: it was deleted since the head was read.
			// Nothing was stored; make it again, in a new epoch.
			if _, err := b.ensureStream(ctx); err != nil {
				return fanout.Position{}, err
			}
			continue
		case isAmbiguous(err) && ctx.Err() == nil:
			if ok, cerr := b.stored(ctx, subj.hist, id); cerr == nil && ok {
				return pos, nil
			}
		}
		return fanout.Position{}, err
	}
	return fanout.Position{}, fmt.Errorf("fanout: nats: %d publishers came first in a row; publish less often to one topic", maxAttempts)
}

// newLifeEpoch returns the epoch of a topic that has no stored message.
// Without MaxAge a topic keeps its newest messages as long as the stream
// exists, so an empty topic was never published to in this stream and
// takes the stream's epoch, the one Recover reports for it. With MaxAge
// the topic may have expired after an earlier life in the same stream,
// whose positions clients may still hold: it takes a fresh random epoch
// (when a Recover announced one, its life marker is the topic's newest
// message and Publish does not get here).
func (b *Broker) newLifeEpoch(ctx context.Context) (string, error) {
	if b.opts.MaxAge > 0 {
		return fanout.NewEpoch(), nil
	}
	return b.baseEpoch(ctx)
}

// store publishes one history message if the topic's newest message is
// still the one at stream sequence prev.
func (b *Broker) store(ctx context.Context, m *natsgo.Msg, prev uint64) error {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	_, err := b.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(prev))
	return err
}

// storeBatch publishes a history message and its snapshot as one atomic
// batch, if the topic's newest message is still the one at prev.
func (b *Broker) storeBatch(ctx context.Context, hist, snap *natsgo.Msg, prev uint64) error {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	batch := newID()
	hist.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(prev, 10))
	hist.Header.Set("Nats-Batch-Id", batch)
	hist.Header.Set("Nats-Batch-Sequence", "1")
	snap.Header.Set("Nats-Batch-Id", batch)
	snap.Header.Set("Nats-Batch-Sequence", "2")
	snap.Header.Set("Nats-Batch-Commit", "1")
	if err := b.nc.PublishMsg(hist); err != nil {
		return err
	}
	resp, err := b.nc.RequestMsgWithContext(ctx, snap)
	if err != nil {
		if errors.Is(err, natsgo.ErrNoResponders) {
			return jetstream.ErrNoStreamResponse
		}
		return err
	}
	var ack struct {
		Error *jetstream.APIError `json:"error"`
		Seq   uint64              `json:"seq"`
	}
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return fmt.Errorf("batch ack: %w", err)
	}
	if ack.Error != nil {
		return ack.Error
	}
	return nil
}

// stored reports whether the topic's newest message is the one a Publish
// with this id wrote.
func (b *Broker) stored(ctx context.Context, subj, id string) (bool, error) {
	last, err := b.lastMsg(ctx, subj)
	if err != nil || last == nil {
		return false, err
	}
	return last.Header.Get(hdrID) == id, nil
}

// isConflict reports that another message was stored on the subject since
// Publish read its head.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return true
	}
	return false
}

// isAmbiguous reports an error after which the message may or may not
// have been stored.
func isAmbiguous(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, natsgo.ErrTimeout) ||
		errors.Is(err, natsgo.ErrConnectionClosed) || errors.Is(err, natsgo.ErrConnectionReconnecting) ||
		errors.Is(err, natsgo.ErrDisconnected)
}

func (b *Broker) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

// newID returns 16 random bytes in base64url.
func newID() string {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
