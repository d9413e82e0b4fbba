package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fanout-go/fanout"
)

// Recover returns topic's head, its snapshot and up to limit (at most
// Options.HistorySize) of its newest stored messages after after.Seq when
// after is in the current
// epoch (from the start of the epoch when after.Epoch is empty, none when
// it names another epoch), read from Redis as one atomic step. A topic Redis does not hold gets a new epoch, kept for its next
// publishes, and Seq 0. Recover refreshes the expiry of the topic's keys.
func (b *Broker) Recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	if strings.ContainsAny(topic, "{}") || topic == "" {
		return fanout.Recovery{}, fmt.Errorf("fanout/redis: recover %q: %w", topic, fanout.ErrInvalidTopic)
	}
	if b.isClosed() {
		return fanout.Recovery{}, fmt.Errorf("fanout/redis: recover %q: %w", topic, ErrClosed)
	}
	k := b.keysFor(topic)
	v, err := recoverScript.Run(ctx, b.client, []string{k.meta, k.hist, k.snap},
		fanout.NewEpoch(), b.ttlArg, after.Epoch, strconv.FormatUint(after.Seq, 10), max(limit, 0), b.histArg).Slice()
	if err != nil {
		return fanout.Recovery{}, fmt.Errorf("fanout/redis: recover %q: %w", topic, err)
	}
	rec, err := parseRecovery(topic, v)
	if err != nil {
		return fanout.Recovery{}, fmt.Errorf("fanout/redis: recover %q: %w", topic, err)
	}
	return rec, nil
}

// parseRecovery reads the recover script's reply
// {epoch, seq, snapshot seq, snapshot, entries newest first}.
func parseRecovery(topic string, v []any) (fanout.Recovery, error) {
	var rec fanout.Recovery
	if len(v) != 5 {
		return rec, errReply
	}
	epoch, ok1 := v[0].(string)
	seq, ok2 := v[1].(int64)
	if !ok1 || !ok2 || seq < 0 {
		return rec, errReply
	}
	rec.Head = fanout.Position{Epoch: epoch, Seq: uint64(seq)}
	now := time.Now()
	if q, ok := v[2].(string); ok {
		sseq, err := strconv.ParseUint(q, 10, 64)
		d, ok := v[3].(string)
		if err != nil || !ok {
			return rec, errReply
		}
		rec.Snapshot = &fanout.Message{Topic: topic, Epoch: epoch, Seq: sseq, Time: now, Data: []byte(d)}
	}
	entries, _ := v[4].([]any)
	if len(entries) > 0 {
		rec.Messages = make([]*fanout.Message, len(entries))
	}
	for i, e := range entries {
		m, err := parseEntry(topic, epoch, now, e)
		if err != nil {
			return rec, err
		}
		rec.Messages[len(entries)-1-i] = m
	}
	return rec, nil
}

// parseEntry reads one history entry, {"<seq>-0", {"d", data, "f", flags}}.
func parseEntry(topic, epoch string, now time.Time, e any) (*fanout.Message, error) {
	pair, ok := e.([]any)
	if !ok || len(pair) != 2 {
		return nil, errReply
	}
	id, ok1 := pair[0].(string)
	fields, ok2 := pair[1].([]any)
	if !ok1 || !ok2 {
		return nil, errReply
	}
	seq, err := strconv.ParseUint(strings.TrimSuffix(id, "-0"), 10, 64)
	if err != nil {
		return nil, errReply
	}
	m := &fanout.Message{Topic: topic, Epoch: epoch, Seq: seq, Time: now}
	for j := 0; j+1 < len(fields); j += 2 {
		if name, _ := fields[j].(string); name == "d" {
			d, _ := fields[j+1].(string)
			m.Data = []byte(d)
		}
	}
	return m, nil
}
