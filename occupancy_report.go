package fanout

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"
)

// An occupancy report is text, one header line and one line per topic:
//
//	fanout-occupancy/1 <kind> <node> <seq> <ttl ms>
//	<count> <topic>
//	...
//
// kind is F (full: every topic with subscribers on the node, replacing
// what the receiver held; a full report too big for one message goes on
// in D reports), D (delta: the counts that changed, 0 for a topic the node
// no longer has; empty as a heartbeat), Q (query: send me full reports)
// or B (bye: the node leaves, forget its counts). seq numbers the node's
// reports from 1, so a receiver notices a lost one and asks for full
// reports. Topic names hold no space nor line break.

const reportMagic = "fanout-occupancy/1"

const (
	reportFull  = 'F'
	reportDelta = 'D'
	reportQuery = 'Q'
	reportBye   = 'B'
)

// topicCount is one line of a report.
type topicCount struct {
	topic string
	count int
}

// report is a decoded report.
type report struct {
	kind   byte
	node   string
	seq    uint64
	ttl    time.Duration
	counts []topicCount
}

var errReport = errors.New("fanout: malformed occupancy report")

func appendReportHeader(b []byte, kind byte, node string, seq uint64, ttl time.Duration) []byte {
	b = append(b, reportMagic...)
	b = append(b, ' ', kind, ' ')
	b = append(b, node...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ttl.Milliseconds(), 10)
	return append(b, '\n')
}

func appendReportLine(b []byte, c topicCount) []byte {
	b = strconv.AppendInt(b, int64(c.count), 10)
	b = append(b, ' ')
	b = append(b, c.topic...)
	return append(b, '\n')
}

// parseReport decodes a report. Topic names are copied: the broker may
// reuse b.
func parseReport(b []byte) (report, error) {
	var r report
	line, rest, _ := bytes.Cut(b, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) != 5 || string(f[0]) != reportMagic || len(f[1]) != 1 || len(f[2]) == 0 {
		return r, errReport
	}
	r.kind, r.node = f[1][0], string(f[2])
	seq, err1 := strconv.ParseUint(string(f[3]), 10, 64)
	ttl, err2 := strconv.ParseInt(string(f[4]), 10, 64)
	if err1 != nil || err2 != nil || ttl <= 0 {
		return r, errReport
	}
	r.seq, r.ttl = seq, time.Duration(ttl)*time.Millisecond
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		num, name, ok := bytes.Cut(line, []byte{' '})
		n, err := strconv.Atoi(string(num))
		if !ok || err != nil || n < 0 || ValidTopic(string(name), len(name)) != nil {
			return r, errReport
		}
		r.counts = append(r.counts, topicCount{string(name), n})
	}
	return r, nil
}

// receive applies another node's report.
func (o *occupancy) receive(b []byte, now time.Time) {
	r, err := parseReport(b)
	if err != nil || r.node == o.self || o.b == nil {
		return
	}
	o.recv.Add(1)
	o.mu.Lock()
	o.applyLocked(r, now)
	o.mu.Unlock()
	o.signal()
}

func (o *occupancy) applyLocked(r report, now time.Time) {
	n := o.nodes[r.node]
	switch r.kind {
	case reportBye:
		if n != nil {
			o.dropLocked(r.node, n)
		}
		return
	case reportQuery:
		o.sendFull = true
		if n != nil {
			n.seq = r.seq // queries are numbered too
		}
		return
	case reportFull, reportDelta:
	default:
		return // a kind of a newer version
	}
	if n == nil {
		if len(o.nodes) >= maxOccupancyNodes {
			return
		}
		n = &remoteNode{counts: make(map[string]int)}
		o.nodes[r.node] = n
		o.askFull = o.askFull || r.kind != reportFull
	} else if r.kind != reportFull && r.seq != n.seq+1 {
		o.askFull = true // a report was lost: some counts may be stale
	}
	if r.kind == reportFull {
		for topic, c := range n.counts {
			o.addTotalLocked(topic, -c)
		}
		clear(n.counts)
	}
	for _, c := range r.counts {
		old, held := n.counts[c.topic]
		if !held && len(n.counts) >= o.h.opts.MaxTopics {
			continue
		}
		o.addTotalLocked(c.topic, c.count-old)
		if c.count == 0 {
			delete(n.counts, c.topic)
		} else {
			n.counts[c.topic] = c.count
		}
	}
	n.seq, n.expires = r.seq, now.Add(r.ttl)
}

// report sends this node's changed counts (or all of them, when asked),
// and a query when this node needs the others' full counts. With nothing
// to say it sends an empty report every TTL/3 as a heartbeat.
func (o *occupancy) report(now time.Time, changes []topicCount) {
	o.mu.Lock()
	full, ask := o.sendFull, o.askFull
	o.sendFull, o.askFull = false, false
	beat := now.Sub(o.lastSent) >= o.opts.TTL/3
	o.mu.Unlock()
	if full {
		changes = o.all()
	}
	if !full && !ask && !beat && len(changes) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(o.h.node.ctx, o.timeout())
	defer cancel()
	if ask {
		o.mu.Lock()
		o.seq++
		q := appendReportHeader(nil, reportQuery, o.self, o.seq, o.opts.TTL)
		o.mu.Unlock()
		if !o.send(ctx, q) {
			o.setWant(false, true)
		}
	}
	kind := byte(reportDelta)
	if full {
		kind = reportFull
	}
	ok := true
	for first := true; first || len(changes) > 0; first = false {
		o.mu.Lock()
		o.seq++
		b := appendReportHeader(nil, kind, o.self, o.seq, o.opts.TTL)
		o.mu.Unlock()
		header := len(b)
		for len(changes) > 0 && len(b)+len(changes[0].topic)+22 <= MaxOccupancyReport {
			b = appendReportLine(b, changes[0])
			changes = changes[1:]
		}
		if len(b) == header && len(changes) > 0 {
			changes = changes[1:] // a name too long for any report: it cannot be counted
		}
		kind = reportDelta
		ok = o.send(ctx, b) && ok
	}
	o.mu.Lock()
	o.lastSent = now
	o.mu.Unlock()
	if !ok {
		// What was lost may be what the others hold: send everything
		// once the broker takes reports again.
		o.setWant(true, false)
	}
}

func (o *occupancy) setWant(full, ask bool) {
	o.mu.Lock()
	o.sendFull = o.sendFull || full
	o.askFull = o.askFull || ask
	o.mu.Unlock()
}

func (o *occupancy) timeout() time.Duration {
	if d := o.h.opts.BrokerTimeout; d > 0 {
		return d
	}
	return DefaultBrokerTimeout
}

// all returns the count of every topic with subscribers on this node, and
// marks them reported.
func (o *occupancy) all() []topicCount {
	var all []topicCount
	for i := range o.h.shards {
		sh := &o.h.shards[i]
		sh.mu.RLock()
		for _, t := range sh.topics {
			t.mu.Lock()
			if n := len(t.subs); !t.dead {
				t.occ.reported = n
				if n > 0 {
					all = append(all, topicCount{t.name, n})
				}
			}
			t.mu.Unlock()
		}
		sh.mu.RUnlock()
	}
	return all
}
