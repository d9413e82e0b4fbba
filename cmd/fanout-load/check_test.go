package main

import (
	"testing"
)

func msg(typ, topic, epoch string, seq uint64, gap bool) *wireMsg {
	return &wireMsg{Type: typ, Topic: topic, Epoch: epoch, Seq: &seq, Gap: gap}
}

// step is one message given to a checker, or a reconnection when m is nil.
type step struct {
	m    *wireMsg
	want Kind // -1: no violation
}

const ok Kind = -1

func TestChecker(t *testing.T) {
	snap := func(e string, s uint64) *wireMsg { return msg("snapshot", "a", e, s, false) }
	upd := func(e string, s uint64) *wireMsg { return msg("update", "a", e, s, false) }
	gapUpd := func(e string, s uint64) *wireMsg { return msg("update", "a", e, s, true) }
	reset := func(e string, s uint64) *wireMsg { return msg("reset", "a", e, s, false) }
	rejoin := step{m: nil}
	tests := []struct {
		name   string
		strict bool
		steps  []step
	}{
		{"snapshot then updates", false, []step{{snap("E", 3), ok}, {upd("E", 4), ok}, {upd("E", 5), ok}}},
		{"a position-only snapshot", false, []step{{snap("E", 0), ok}, {upd("E", 1), ok}}},
		{"marked gap", false, []step{{snap("E", 3), ok}, {gapUpd("E", 7), ok}, {upd("E", 8), ok}}},
		{"unmarked gap", false, []step{{snap("E", 3), ok}, {upd("E", 5), Gap}, {upd("E", 6), ok}}},
		{"duplicate", false, []step{{snap("E", 3), ok}, {upd("E", 4), ok}, {upd("E", 4), Duplicate}, {upd("E", 5), ok}}},
		{"order", false, []step{{snap("E", 3), ok}, {upd("E", 5), Gap}, {upd("E", 4), Order}}},
		{"no snapshot", false, []step{{upd("E", 4), NoSnapshot}, {upd("E", 5), ok}}},
		{"a reset first", false, []step{{reset("E", 4), NoSnapshot}}},
		{"epoch change without reset", false, []step{{snap("E", 3), ok}, {upd("F", 1), EpochChange}, {upd("F", 2), ok}}},
		{"epoch change with reset", false, []step{{snap("E", 3), ok}, {reset("F", 1), ok}, {upd("F", 2), ok}}},
		{"a second snapshot", false, []step{{snap("E", 3), ok}, {snap("E", 9), UnexpectedSnapshot}}},
		{"resume without loss", false, []step{{snap("E", 3), ok}, rejoin, {upd("E", 4), ok}}},
		{"resume that loses", false, []step{{snap("E", 3), ok}, rejoin, {upd("E", 6), Gap}}},
		{"resume answered by a duplicate", false, []step{{snap("E", 3), ok}, {upd("E", 4), ok}, rejoin, {upd("E", 4), Duplicate}}},
		{"resume reset allowed", false, []step{{snap("E", 3), ok}, rejoin, {reset("E", 9), ok}}},
		{"resume reset strict", true, []step{{snap("E", 3), ok}, rejoin, {reset("E", 9), ResumeReset}}},
		{"reconnect before any position", false, []step{rejoin, {snap("E", 3), ok}}},
		{"snapshot at the position on resume", false, []step{{snap("E", 3), ok}, rejoin, {snap("E", 3), ok}}},
		{"snapshot past the position on resume", false, []step{{snap("E", 3), ok}, rejoin, {snap("E", 5), UnexpectedSnapshot}}},
		{"unknown topic", false, []step{{msg("snapshot", "b", "E", 1, false), Malformed}}},
		{"an unknown type is ignored", false, []step{{snap("E", 1), ok}, {&wireMsg{Type: "hello"}, ok}, {upd("E", 2), ok}}},
		{"occupancy", false, []step{{snap("E", 1), ok}, {occ("a", 3), ok}, {upd("E", 2), ok}}},
		{"occupancy on a resume", false, []step{{snap("E", 1), ok}, rejoin, {occ("a", 3), ok}, {upd("E", 2), ok}}},
		{"occupancy before the snapshot", false, []step{{occ("a", 1), EarlyOccupancy}, {snap("E", 1), ok}}},
		{"occupancy of another topic", false, []step{{snap("E", 1), ok}, {occ("b", 1), Malformed}}},
		{"occupancy without a count", false, []step{{snap("E", 1), ok}, {&wireMsg{Type: "occupancy", Topic: "a"}, Malformed}}},
		{"no epoch", false, []step{{&wireMsg{Type: "update", Topic: "a"}, Malformed}}},
		{"update seq 0", false, []step{{snap("E", 0), ok}, {upd("E", 0), Malformed}}},
		{"replies are not checked", false, []step{{&wireMsg{Type: "subscribed", Topic: "a"}, ok}, {&wireMsg{Type: "error", Code: "limit"}, ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker([]string{"a"}, tt.strict)
			for i, s := range tt.steps {
				if s.m == nil {
					c.rejoin()
					continue
				}
				o := c.check(s.m)
				got := ok
				if o.violated {
					got = o.violation
				}
				if got != s.want {
					t.Fatalf("step %d (%s %d): got %v (%s), want %v", i, s.m.Type, seqOf(s.m), got, o.detail, s.want)
				}
			}
		})
	}
}

func occ(topic string, n int64) *wireMsg {
	return &wireMsg{Type: "occupancy", Topic: topic, Count: &n}
}

func seqOf(m *wireMsg) uint64 {
	if m.Seq == nil {
		return 0
	}
	return *m.Seq
}

func TestCheckerCounts(t *testing.T) {
	c := newChecker([]string{"a"}, false)
	c.check(msg("snapshot", "a", "E", 1, false))
	c.rejoin()
	if o := c.check(msg("update", "a", "E", 2, false)); !o.resumed || !o.update {
		t.Errorf("the first update after a resume: %+v, want resumed", o)
	}
	if o := c.check(msg("update", "a", "E", 5, true)); !o.markedGap {
		t.Errorf("a marked gap: %+v", o)
	}
	c.rejoin()
	if o := c.check(msg("reset", "a", "F", 1, false)); !o.resumeReset || !o.reset || o.violated {
		t.Errorf("a reset answering a resume: %+v", o)
	}
	if o := c.check(&wireMsg{Type: "unsubscribed", Topic: "a", Reason: "limit"}); o.serverError != "unsubscribed:limit" {
		t.Errorf("unsubscribed: %+v", o)
	}
}
