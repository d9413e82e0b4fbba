package fanout

import (
	"strconv"
	"time"
)

// topicOccupancy is a topic's occupancy state; guarded by the topic's lock.
type topicOccupancy struct {
	dirty    bool      // queued in occupancy.dirty
	joined   bool      // a subscriber joined since the last push: it needs the count
	reported int       // the local count last reported to the other nodes
	pushed   int       // the total last pushed to the subscribers; 0 for none
	lastPush time.Time // when it was pushed
}

// joinedLocked records that a subscriber joined t; t's lock is held.
func (o *occupancy) joinedLocked(t *topic) {
	if t.cfg.Occupancy {
		t.occ.joined = true
	}
	o.changedLocked(t)
}

// pushDue queues the new totals of the topics whose count may have
// changed for their subscribers, where TopicConfig.Occupancy asks for it,
// at most once per PushInterval per topic. It reports whether some topics
// wait for their PushInterval.
func (o *occupancy) pushDue(now time.Time) bool {
	o.mu.Lock()
	if len(o.touched) == 0 {
		o.mu.Unlock()
		return false
	}
	names := make([]string, 0, len(o.touched))
	for name := range o.touched {
		names = append(names, name)
	}
	clear(o.touched)
	o.mu.Unlock()
	var later []string
	for _, name := range names {
		if o.pushTopic(name, now) {
			later = append(later, name)
		}
	}
	if len(later) == 0 {
		return false
	}
	o.mu.Lock()
	for _, name := range later {
		o.touched[name] = struct{}{}
	}
	o.mu.Unlock()
	return true
}

// pushTopic queues the total of topic name for its subscribers if it
// changed since the last push (or a subscriber joined since), and reports
// whether that must wait for PushInterval.
func (o *occupancy) pushTopic(name string, now time.Time) (wait bool) {
	sh := o.h.shardFor(name)
	sh.mu.RLock()
	t := sh.topics[name]
	sh.mu.RUnlock()
	if t == nil || !t.cfg.Occupancy {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead || len(t.subs) == 0 {
		t.occ.pushed, t.occ.joined = 0, false
		return false
	}
	total := len(t.subs) + o.remote(name)
	if total == t.occ.pushed && !t.occ.joined {
		return false
	}
	if now.Sub(t.occ.lastPush) < o.opts.PushInterval {
		return true
	}
	t.occ.pushed, t.occ.joined, t.occ.lastPush = total, false, now
	m := &Message{Topic: t.name, Time: now, Data: strconv.AppendInt(nil, int64(total), 10)}
	for _, sn := range t.subs {
		sn.sub.pushOccupancy(sn, m)
	}
	o.pushes.Add(1)
	return false
}

// pushOccupancy queues m, an occupancy message, for sn, in place of the
// one still queued if there is one: a consumer that lags gets the newest
// count once. It never ends the subscriber: with the queue full, m is
// dropped (the queue holds updates, and the next count will come). The
// topic's lock is held.
func (s *Subscriber) pushOccupancy(sn *subscription, m *Message) {
	s.mu.Lock()
	if s.err != nil || sn.gone {
		s.mu.Unlock()
		return
	}
	if sn.occ > s.q.head {
		s.q.at(sn.occ - 1).m = m
		s.mu.Unlock()
		return
	}
	if !s.q.push(entry{m: m, sn: sn, kind: Occupancy}, s.opts.QueueSize) {
		s.mu.Unlock()
		return
	}
	sn.occ = s.q.tail
	wake := s.q.len() == 1
	s.mu.Unlock()
	if wake {
		s.notify()
	}
}
