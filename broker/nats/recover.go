package nats

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/fanout-go/fanout"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Recover returns topic's head, its snapshot and the stored messages
// after after.Seq (the newest limit of them) when after is in the
// topic's current epoch; an empty after.Epoch stands for the current
// epoch. It reads the snapshot and the newest message from the stream
// leader. A few missed messages it reads one by one, walking back through
// the stream sequence each message records of its predecessor; more come
// through an ephemeral consumer of the topic's history. Messages trimmed
// from history are not returned.
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
	if last == nil && b.opts.MaxAge <= 0 {
		epoch, err := b.baseEpoch(ctx)
		if err != nil {
			return fanout.Recovery{}, err
		}
		return fanout.Recovery{Head: fanout.Position{Epoch: epoch}}, nil
	}
	if last == nil {
		if last, err = b.startLife(ctx, subj.hist); err != nil {
			return fanout.Recovery{}, err
		}
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
	n := int(min(rec.Head.Seq-after.Seq, uint64(limit), uint64(b.opts.HistorySize)))
	if n > walkLimit {
		rec.Messages, err = b.fetchRange(ctx, topic, subj.hist, after.Seq, rec.Head.Seq, n)
	} else {
		rec.Messages, err = b.walkBack(ctx, topic, subj.hist, p.Message, m.prev, n)
	}
	if err != nil {
		return fanout.Recovery{}, err
	}
	return rec, nil
}

// startLife opens a new life of topic, empty under MaxAge, and returns its
// newest message: a life marker (seq 0, a fresh random epoch) that it
// stores only if the topic is still empty, or whatever another Recover or
// Publish stored first. The marker fixes the epoch that Recover announces
// and the first Publish then uses, while keeping it apart from the epoch
// of any earlier life the topic had in this stream. It is trimmed and
// expires like a message, and is never delivered.
func (b *Broker) startLife(ctx context.Context, subj string) (*jetstream.RawStreamMsg, error) {
	for range maxAttempts {
		h := natsgo.Header{}
		h.Set(hdrEpoch, fanout.NewEpoch())
		h.Set(hdrSeq, "0")
		h.Set(hdrTime, strconv.FormatInt(time.Now().UnixNano(), 10))
		if err := b.store(ctx, &natsgo.Msg{Subject: subj, Header: h}, 0); err != nil && !isConflict(err) {
			return nil, fmt.Errorf("start topic: %w", err)
		}
		last, err := b.lastMsg(ctx, subj)
		if err != nil || last != nil {
			return last, err
		}
		// Expired already (MaxAge shorter than a round trip): again.
	}
	return nil, fmt.Errorf("fanout: nats: %s expires faster than it can be written; raise Options.MaxAge", subj)
}

// walkLimit is the largest number of messages Recover reads one by one,
// walking back from the head; more come through a consumer.
const walkLimit = 16

// walkBack returns the n messages that end with head, whose predecessor
// is at stream sequence prev, reading them one by one from the leader.
// It returns fewer when history was trimmed.
func (b *Broker) walkBack(ctx context.Context, topic, subj string, head *fanout.Message, prev uint64, n int) ([]*fanout.Message, error) {
	msgs := make([]*fanout.Message, n)
	i := n - 1
	msgs[i] = head
	for i > 0 && prev != 0 {
		raw, err := b.msgAt(ctx, prev)
		if err != nil {
			return nil, err
		}
		if raw == nil || raw.Subject != subj {
			break // trimmed from history
		}
		p, m, err := publication(topic, raw.Header, raw.Data)
		if err != nil {
			return nil, err
		}
		i--
		msgs[i], prev = p.Message, m.prev
	}
	return msgs[i:], nil
}

// fetchRange returns the newest n stored messages of topic with sequence
// numbers in (after, head], through an ephemeral in-memory consumer of the
// topic's history subject: a few round trips however long the range.
func (b *Broker) fetchRange(ctx context.Context, topic, subj string, after, head uint64, n int) ([]*fanout.Message, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	s := b.getStream()
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     subj,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: time.Minute, // the server's cleanup if the delete below is lost
	})
	if err != nil {
		return nil, fmt.Errorf("history consumer: %w", err)
	}
	info := cons.CachedInfo()
	defer func() {
		dctx, cancel := b.withTimeout(context.WithoutCancel(ctx))
		defer cancel()
		_ = s.DeleteConsumer(dctx, info.Name)
	}()
	if info.NumPending == 0 {
		return nil, nil
	}
	batch, err := cons.FetchNoWait(int(min(info.NumPending, uint64(b.opts.HistorySize))))
	if err != nil {
		return nil, fmt.Errorf("history fetch: %w", err)
	}
	msgs := make([]*fanout.Message, 0, n)
	var bad error
	for m := range batch.Messages() {
		p, _, err := publication(topic, m.Headers(), m.Data())
		switch {
		case err != nil:
			bad = err
		case p.Seq > after && p.Seq <= head:
			msgs = append(msgs, p.Message)
		}
	}
	if bad != nil {
		return nil, bad
	}
	if err := batch.Error(); err != nil {
		return nil, fmt.Errorf("history fetch: %w", err)
	}
	msgs = msgs[max(0, len(msgs)-n):]
	for i, m := range msgs {
		if m.Seq != head-uint64(len(msgs)-1-i) {
			return nil, fmt.Errorf("fanout: nats: history of %q is not contiguous at seq %d", topic, m.Seq)
		}
	}
	return msgs, nil
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
