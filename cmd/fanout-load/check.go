package main

import (
	"encoding/json"
	"fmt"
)

// Kind is a kind of protocol violation: something docs/protocol.md says a
// server never does.
type Kind int

// The violations fanout-load checks for, per topic of each connection.
const (
	Gap                Kind = iota // an update past last+1 without "gap": true
	Duplicate                      // an update with the seq already applied
	Order                          // an update with a seq below the last applied
	NoSnapshot                     // a fresh subscription that did not start with a snapshot
	EpochChange                    // an update of another epoch, not announced by a reset
	UnexpectedSnapshot             // a snapshot on a live or resumed subscription that skips updates
	ResumeReset                    // a resume answered with a reset (only with -strict-resume)
	Malformed                      // a message that is not the protocol's (bad JSON, missing fields, unknown topic)
	EarlyOccupancy                 // an occupancy count before the subscription's first snapshot
	numKinds
)

var kindNames = [numKinds]string{"gap", "duplicate", "order", "no-snapshot", "epoch-change",
	"unexpected-snapshot", "resume-reset", "malformed", "early-occupancy"}

// String returns the kind's name as the summary prints it.
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// wireMsg is one server message (docs/protocol.md, "Server to client").
type wireMsg struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	Epoch   string          `json:"epoch"`
	Seq     *uint64         `json:"seq"`
	Gap     bool            `json:"gap"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Reason  string          `json:"reason"`
	Message string          `json:"message"`
	Count   *int64          `json:"count"`

	seq   uint64 // where Seq points after parseMsg's fast path
	count int64  // where Count points after parseMsg's fast path
}

// phase is where a topic's subscription is.
type phase uint8

const (
	fresh    phase = iota // subscribed without a position: a snapshot must come first
	resuming              // subscribed again from a position: the next update, or a reset
	live                  // has a position and is receiving updates
	ended                 // unsubscribed by the server
)

// topicState is what a connection knows of one topic.
type topicState struct {
	phase phase
	has   bool // a position has been applied
	epoch string
	seq   uint64
}

// outcome is what checking one message found.
type outcome struct {
	violation    Kind // valid when violated
	violated     bool
	detail       string
	update       bool // an update applied (counts for latency)
	markedGap    bool // an update with "gap": true that skipped seqs
	reset        bool // a reset was applied
	resumed      bool // the first message after a resume continued without loss
	resumeReset  bool // the first message after a resume was a reset
	serverError  string
	unsubscribed bool
	occupancy    bool // an occupancy count
}

// checker applies the protocol's rules to the messages of one client's
// topics, across its reconnections. It is not safe for concurrent use: one
// client goroutine owns it.
type checker struct {
	topics      map[string]*topicState
	strictReset bool // a reset answering a resume is a violation
}

func newChecker(topics []string, strictReset bool) *checker {
	c := &checker{topics: make(map[string]*topicState, len(topics)), strictReset: strictReset}
	for _, t := range topics {
		c.topics[t] = &topicState{}
	}
	return c
}

// rejoin marks every topic as subscribed again, as a new connection (or a
// new poll after a cut) does: a topic with a position resumes from it, one
// without starts afresh.
func (c *checker) rejoin() {
	for _, s := range c.topics {
		if s.has {
			s.phase = resuming
		} else {
			s.phase = fresh
		}
	}
}

// position returns the topic's position, if it has one.
func (c *checker) position(topic string) (epoch string, seq uint64, ok bool) {
	s := c.topics[topic]
	if s == nil || !s.has {
		return "", 0, false
	}
	return s.epoch, s.seq, true
}

// check applies one message and reports what it found.
func (c *checker) check(m *wireMsg) outcome {
	switch m.Type {
	case "subscribed":
		return outcome{}
	case "unsubscribed":
		if s := c.topics[m.Topic]; s != nil {
			s.phase = ended
		}
		return outcome{unsubscribed: true, serverError: "unsubscribed:" + m.Reason}
	case "error":
		return outcome{serverError: "error:" + m.Code}
	case "occupancy":
		return c.occupancy(m)
	case "snapshot", "update", "reset":
	default: // clients ignore types they do not know (docs/protocol.md)
		return outcome{serverError: fmt.Sprintf("ignored: type %.20q", m.Type)}
	}
	s := c.topics[m.Topic]
	switch {
	case s == nil:
		return violation(Malformed, "%s of topic %q, not subscribed", m.Type, m.Topic)
	case m.Epoch == "" || m.Seq == nil:
		return violation(Malformed, "%s of %q without epoch or seq", m.Type, m.Topic)
	case m.Type == "update" && *m.Seq == 0:
		return violation(Malformed, "update of %q with seq 0", m.Topic)
	}
	switch m.Type {
	case "snapshot":
		return c.snapshot(s, m)
	case "reset":
		return c.reset(s, m)
	}
	return c.update(s, m)
}

// occupancy checks a topic's subscriber count: it is no part of the
// topic's sequence, and comes after the subscription's first snapshot
// (or its resume).
func (c *checker) occupancy(m *wireMsg) outcome {
	s := c.topics[m.Topic]
	switch {
	case s == nil:
		return violation(Malformed, "occupancy of topic %q, not subscribed", m.Topic)
	case m.Count == nil || *m.Count < 1:
		return violation(Malformed, "occupancy of %q without a count of at least 1 (the client itself)", m.Topic)
	case s.phase == fresh:
		return violation(EarlyOccupancy, "occupancy of %q before its snapshot", m.Topic)
	}
	return outcome{occupancy: true}
}

func (c *checker) snapshot(s *topicState, m *wireMsg) outcome {
	was := *s
	s.apply(m)
	switch {
	case was.phase == fresh:
		return outcome{}
	case was.has && was.epoch == m.Epoch && was.seq == *m.Seq:
		// A snapshot at the position held loses nothing.
		return outcome{resumed: was.phase == resuming}
	}
	return violation(UnexpectedSnapshot, "snapshot of %q at %s/%d while at %s/%d",
		m.Topic, m.Epoch, *m.Seq, was.epoch, was.seq)
}

func (c *checker) reset(s *topicState, m *wireMsg) outcome {
	was := *s
	s.apply(m)
	switch was.phase {
	case fresh:
		return violation(NoSnapshot, "a fresh subscription of %q started with a reset", m.Topic)
	case resuming:
		if c.strictReset {
			o := violation(ResumeReset, "resume of %q from %s/%d answered with a reset to %s/%d",
				m.Topic, was.epoch, was.seq, m.Epoch, *m.Seq)
			o.reset, o.resumeReset = true, true
			return o
		}
		return outcome{reset: true, resumeReset: true}
	}
	return outcome{reset: true}
}

func (c *checker) update(s *topicState, m *wireMsg) outcome {
	was := *s
	seq := *m.Seq
	switch {
	case was.phase == fresh || !was.has:
		s.apply(m)
		return violation(NoSnapshot, "a fresh subscription of %q started with update %d", m.Topic, seq)
	case m.Epoch != was.epoch:
		s.apply(m)
		return violation(EpochChange, "update of %q in epoch %s while in %s, without a reset", m.Topic, m.Epoch, was.epoch)
	case seq == was.seq:
		return violation(Duplicate, "update %d of %q again", seq, m.Topic)
	case seq < was.seq:
		return violation(Order, "update %d of %q after %d", seq, m.Topic, was.seq)
	}
	s.apply(m)
	if seq > was.seq+1 && !m.Gap {
		return violation(Gap, "update %d of %q after %d, not marked", seq, m.Topic, was.seq)
	}
	return outcome{update: true, markedGap: seq > was.seq+1, resumed: was.phase == resuming && seq == was.seq+1}
}

// apply makes m's position the topic's.
func (s *topicState) apply(m *wireMsg) {
	s.phase, s.has, s.epoch, s.seq = live, true, m.Epoch, *m.Seq
}

func violation(k Kind, format string, args ...any) outcome {
	return outcome{violation: k, violated: true, detail: fmt.Sprintf(format, args...)}
}
