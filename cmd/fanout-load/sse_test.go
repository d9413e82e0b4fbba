package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

// TestReadEvents feeds an event stream to the SSE reader: comments and
// retry are skipped, multi-line data is joined, the last id is kept (an
// event without one keeps the previous), and an event whose name is not
// its message's type is malformed. An event the end of the stream cuts
// is dropped.
func TestReadEvents(t *testing.T) {
	stream := strings.Join([]string{
		"retry: 2000",
		"",
		"id: c1",
		"event: snapshot",
		`data: {"type":"snapshot","topic":"t","epoch":"E","seq":1,"data":null}`,
		"",
		": ping",
		"",
		"id: c2",
		"event: update",
		`data: {"type":"update","topic":"t",`,
		`data:  "epoch":"E","seq":2,"data":{"a":1}}`,
		"",
		"event: occupancy",
		`data: {"type":"occupancy","topic":"t","count":2}`,
		"",
		"id: c3",
		"event: message",
		`data: {"type":"update","topic":"t","epoch":"E","seq":3,"data":2}`,
		"",
		"id: c4", // an event the stream's end cuts: never dispatched
		"event: update",
		`data: {"type":"update","topic":"t","epoch":"E","seq":4,"data":3}`,
	}, "\r\n")
	l := &loadRun{st: newStats(), start: time.Now(), limit: make(chan struct{})}
	c := &client{load: l, topics: []string{"t"}, chk: newChecker([]string{"t"}, true)}
	err := c.readEvents(bufio.NewReaderSize(strings.NewReader(stream), 16))
	if err != io.EOF {
		t.Fatalf("readEvents: %v, want EOF", err)
	}
	if got := l.st.msgs.Load(); got != 4 {
		t.Errorf("%d messages, want 4", got)
	}
	if got := l.st.updates.Load(); got != 2 {
		t.Errorf("%d updates, want 2", got)
	}
	if c.lastID != "c3" {
		t.Errorf("last id %q, want c3", c.lastID)
	}
	var want [numKinds]uint64
	want[Malformed] = 1
	for i := range want {
		if got := l.st.violations[i].Load(); got != want[i] {
			t.Errorf("%s: %d violations, want %d (%+v)", Kind(i), got, want[i], l.st.examples)
		}
	}
}
