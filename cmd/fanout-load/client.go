package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// errCut is the cause of a session that fanout-load cut on purpose.
var errCut = errors.New("fanout-load: cut")

// statusError is an HTTP answer other than the one a transport expects.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("fanout-load: HTTP %d", e.code) }

// client is one simulated web client: one connection at a time, its
// topics, and the checker that follows them across reconnections. Its
// loop runs in one goroutine.
type client struct {
	id     int
	load   *loadRun
	proto  string       // ws, sse or poll
	http   *http.Client // from the client's local address, if any
	topics []string
	chk    *checker
	cutAt  time.Time // when to cut the connection once; zero: never
	rng    *rand.Rand

	sessions int    // connections that opened
	lastID   string // SSE: the last event id, sent back as Last-Event-ID
}

// loop connects, reads and checks until ctx is done, reconnecting with a
// jittered backoff when the connection ends and at once after a cut.
func (c *client) loop(ctx context.Context) {
	defer func() {
		if c.sessions == 0 {
			c.load.st.never.Add(1)
		}
	}()
	for failures := 0; ctx.Err() == nil; {
		sctx, cancel := context.WithCancelCause(ctx)
		var timer *time.Timer
		if !c.cutAt.IsZero() {
			timer = time.AfterFunc(time.Until(c.cutAt), func() { cancel(errCut) })
		}
		opened, err := c.session(sctx)
		if timer != nil {
			timer.Stop()
		}
		cut := errors.Is(context.Cause(sctx), errCut)
		cancel(nil)
		c.chk.rejoin()
		switch {
		case ctx.Err() != nil:
			return
		case cut:
			if opened {
				c.load.st.cuts.Add(1)
			}
			c.cutAt = time.Time{}
			failures = 0
			continue
		case opened:
			failures = 0
		default:
			failures++
		}
		c.load.st.fail(errorKind(c.proto, err))
		if !c.backoff(ctx, failures) {
			return
		}
	}
}

// backoff waits before a reconnection: a random delay up to 100ms doubled
// per failure in a row, at most 5s. It returns false when ctx is done.
func (c *client) backoff(ctx context.Context, failures int) bool {
	limit := min(100*time.Millisecond<<min(failures, 6), 5*time.Second)
	t := time.NewTimer(time.Duration(c.rng.Int64N(int64(limit)) + 1))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// session runs one connection of the client's transport. opened says
// whether it was established.
func (c *client) session(ctx context.Context) (opened bool, err error) {
	switch c.proto {
	case "ws":
		return c.wsSession(ctx)
	case "sse":
		return c.sseSession(ctx)
	}
	return c.pollSession(ctx)
}

// opened counts an established connection; closed must follow.
func (c *client) opened() {
	st := c.load.st
	st.open.Add(1)
	st.connects.Add(1)
	if c.sessions > 0 {
		st.reconnects.Add(1)
	}
	c.sessions++
}

func (c *client) closed() { c.load.st.open.Add(-1) }

// handle checks one protocol message received at now. event is the SSE
// event's name, which must be the message's type; empty for the other
// transports.
func (c *client) handle(raw []byte, event string, now time.Time) {
	st := c.load.st
	st.msgs.Add(1)
	st.bytes.Add(uint64(len(raw)))
	defer c.load.counted()
	var m wireMsg
	if err := parseMsg(raw, &m); err != nil {
		st.violate(now.Sub(c.load.start), c.id, Malformed, fmt.Sprintf("%v: %.80s", err, raw))
		return
	}
	if event != "" && event != m.Type {
		st.violate(now.Sub(c.load.start), c.id, Malformed, fmt.Sprintf("event %.20q holds a message of type %.20q", event, m.Type))
	}
	o := c.chk.check(&m)
	if o.violated {
		st.violate(now.Sub(c.load.start), c.id, o.violation, o.detail)
	}
	if o.update {
		st.updates.Add(1)
		if ts, ok := publishTime(m.Data); ok {
			st.lat.record(now.Sub(ts))
		}
	}
	if o.markedGap {
		st.markedGaps.Add(1)
	}
	if o.reset {
		st.resets.Add(1)
	}
	if o.resumed {
		st.resumes.Add(1)
	}
	if o.resumeReset {
		st.resumeReset.Add(1)
	}
	if o.occupancy {
		st.occupancy.Add(1)
	}
	if o.serverError != "" {
		st.fail(o.serverError)
	}
}

var tsField = []byte(`"ts"`)

// publishTime returns the publish time a payload carries in its top-level
// field "ts", in Unix nanoseconds (docs/protocol.md, "Load testing").
func publishTime(data []byte) (time.Time, bool) {
	if !bytes.Contains(data, tsField) {
		return time.Time{}, false
	}
	// The fast path: the field first, as fanout-load serve writes it.
	if rest, ok := bytes.CutPrefix(data, []byte(`{"ts":`)); ok {
		end := bytes.IndexAny(rest, ",}")
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(rest[:max(end, 0)])), 10, 64); end > 0 && err == nil {
			return time.Unix(0, n), true
		}
	}
	var p struct {
		TS *int64 `json:"ts"`
	}
	if json.Unmarshal(data, &p) != nil || p.TS == nil {
		return time.Time{}, false
	}
	return time.Unix(0, *p.TS), true
}

// errorKind names why a connection ended or failed, for the summary.
func errorKind(proto string, err error) string {
	var se *statusError
	switch {
	case err == nil:
		return proto + ": ended"
	case errors.As(err, &se):
		return fmt.Sprintf("%s: HTTP %d %s", proto, se.code, http.StatusText(se.code))
	}
	if code := wsCloseCode(err); code >= 0 {
		return fmt.Sprintf("%s: closed %d", proto, code)
	}
	return proto + ": " + shortError(err)
}

// shortError keeps the end of an error's text, where the cause is.
func shortError(err error) string {
	s := err.Error()
	if i := bytes.LastIndex([]byte(s), []byte(": ")); i >= 0 && len(s)-i > 12 {
		return s[i+2:]
	}
	return s
}
