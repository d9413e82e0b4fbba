package nats

import (
	"context"
	"fmt"

	"github.com/fanout-go/fanout"
	"github.com/nats-io/nats.go/jetstream"
)

// Recover returns topic's head, its snapshot and the stored messages
// after after.Seq (the newest limit of them) when after is in the
// topic's current epoch; an empty after.Epoch stands for the current
// epoch. It reads the newest message, then walks back
// through the stream sequence each message records of its predecessor,
// one leader read per message, so that a small gap costs a few round
// trips. The walk stops early where history was trimmed.
func (b *Broker) Recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	rec, err := b.recover(ctx, topic, after, limit)
	if err != nil {
		return fanout.Recovery{}, fmt.Errorf("nats recover %q: %w", topic, err)
	}
	return rec, nil
}

func (b *Broker) recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	if b.isClosed() {
		return fanout.Recovery{}, ErrClosed
	}
	subj, err := b.subjectsFor(topic)
	if err != nil {
		return fanout.Recovery{}, err
	}
	// The snapshot first: it and its history message are stored at once,
	// so the head read after it is never older than it.
	sm, err := b.lastMsg(ctx, subj.snap)
	if err != nil {
		return fanout.Recovery{}, err
	}
	last, err := b.lastMsg(ctx, subj.hist)
	if err != nil {
		return fanout.Recovery{}, err
	}
	if last == nil {
		epoch, err := b.baseEpoch(ctx)
		if err != nil {
			return fanout.Recovery{}, err
		}
		return fanout.Recovery{Head: fanout.Position{Epoch: epoch}}, nil
	}
	p, m, err := publication(topic, last.Header, last.Data)
	if err != nil {
		return fanout.Recovery{}, err
	}
	rec := fanout.Recovery{Head: p.Position()}
	if rec.Snapshot, err = snapshot(topic, sm, rec.Head); err != nil {
		return fanout.Recovery{}, err
	}
	if (after.Epoch != "" && after.Epoch != rec.Head.Epoch) || after.Seq >= rec.Head.Seq || limit <= 0 {
		return rec, nil
	}
	n := int(min(rec.Head.Seq-after.Seq, uint64(limit)))
	msgs := make([]*fanout.Message, n)
	i := n - 1
	msgs[i] = p.Message
	for i > 0 && m.prev != 0 {
		prev, err := b.msgAt(ctx, m.prev)
		if err != nil {
			return fanout.Recovery{}, err
		}
		if prev == nil || prev.Subject != subj.hist {
			break // trimmed from history
		}
		if p, m, err = publication(topic, prev.Header, prev.Data); err != nil {
			return fanout.Recovery{}, err
		}
		i--
		msgs[i] = p.Message
	}
	rec.Messages = msgs[i:]
	return rec, nil
}

// snapshot decodes the snapshot message sm (nil for none) if it belongs
// to head's epoch.
func snapshot(topic string, sm *jetstream.RawStreamMsg, head fanout.Position) (*fanout.Message, error) {
	if sm == nil {
		return nil, nil
	}
	m, err := parseMeta(sm.Header, len(sm.Data))
	if err != nil {
		return nil, err
	}
	if m.epoch != head.Epoch || m.seq > head.Seq {
		return nil, nil // from an earlier life of the topic
	}
	return &fanout.Message{Topic: topic, Epoch: m.epoch, Seq: m.seq, Time: m.time, Data: sm.Data}, nil
}
