package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport"
)

// Reasons the client itself ends a connection. The client reconnects
// after each.
var (
	// errOverflow: the caller fell QueueSize messages behind.
	errOverflow = errors.New("fanout: client queue overflowed: call Next faster or raise Options.QueueSize")
	// errLost: a message did not follow the topic's last position (the
	// protocol's defensive rule); the client resumes from that position.
	errLost = errors.New("fanout: a topic's sequence broke; resuming")
	// errBinary: the server sent a binary frame, which the protocol does
	// not use.
	errBinary = errors.New("fanout: the server sent a binary frame")
	// errBadMessage: the server sent something that is not the protocol.
	errBadMessage = errors.New("fanout: bad message from the server")
)

// reconnectKind says whether and how soon the client reconnects after a
// connection ended with some error.
type reconnectKind int

const (
	stop      reconnectKind = iota // do not reconnect: the error is final
	withDelay                      // reconnect with exponential backoff
	promptly                       // reconnect after a short jittered delay, with the backoff reset
)

// reconnectPolicy decides what follows the end of a connection. The
// client reconnects after a network error or a connection closed without
// a close frame, its own queue overflow or lost position, and the close
// codes the protocol marks as transient: 1001 going away, 1009 message
// too big, 1011 internal error, 1012 service restart, 1013 try again
// later, 1014 bad gateway and 4002 protocol violation (with backoff), 4000
// slow consumer and 4001 reconnect (promptly). It stops on every other
// close code: 1000 (a normal close, which the protocol reserves for a
// client that leaves), 1008 forbidden, and codes it does not know, such
// as an application's own refusal in the 4003-4999 range; retrying those
// would be refused again.
func reconnectPolicy(err error) reconnectKind {
	if errors.Is(err, errOverflow) {
		return promptly
	}
	switch code := websocket.CloseStatus(err); code {
	case -1, websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure:
		return withDelay // not a close frame: the network, or our own check
	case transport.CloseSlowConsumer, transport.CloseReconnect:
		return promptly
	case websocket.StatusGoingAway, websocket.StatusMessageTooBig, websocket.StatusInternalError,
		websocket.StatusServiceRestart, websocket.StatusTryAgainLater, websocket.StatusBadGateway,
		transport.CloseProtocolViolation:
		return withDelay
	}
	return stop
}

// RefusedError reports a handshake that the server answered with an HTTP
// status which retrying will not change: any 4xx but 429 Too Many Requests
// (docs/protocol.md). The client does not reconnect after it; other
// statuses, such as 429, or 503 from a server that is draining or full,
// are retried with backoff.
type RefusedError struct {
	StatusCode int    // the HTTP status of the handshake response
	Status     string // its status line, e.g. "403 Forbidden"
	Err        error  // the handshake error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("fanout: the server refused the connection (%s); check the URL and credentials", e.Status)
}

// Unwrap returns the handshake error.
func (e *RefusedError) Unwrap() error { return e.Err }

// refusal returns a *RefusedError when resp answers the handshake with a
// final refusal, else nil.
func refusal(resp *http.Response, err error) error {
	if resp == nil || resp.StatusCode < 400 || resp.StatusCode > 499 || resp.StatusCode == http.StatusTooManyRequests {
		return nil
	}
	return &RefusedError{StatusCode: resp.StatusCode, Status: resp.Status, Err: err}
}

// busyError is a handshake the server answered 429 or 503 with a
// Retry-After header: it asks the client to wait that long before trying
// again. The client waits at least that (up to Options.MaxBackoff), plus
// its usual jittered backoff so that the clients it turned away do not
// come back in step.
type busyError struct {
	after time.Duration
	err   error
}

func (e *busyError) Error() string {
	return fmt.Sprintf("fanout: the server is busy; it asks to retry after %v: %v", e.after, e.err)
}

func (e *busyError) Unwrap() error { return e.err }

// busy returns a *busyError when resp is a 429 or 503 with a valid
// Retry-After (seconds or an HTTP date), else nil.
func busy(resp *http.Response, err error, now time.Time) error {
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	if after, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
		return &busyError{after: after, err: err}
	}
	return nil
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP date
// (RFC 9110, section 10.2.3). A date in the past is a zero delay.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// retryDelay returns the delay before the attempt that follows the failed
// dial err: the backoff's next delay, after the server's Retry-After (at
// most limit) when it sent one.
func retryDelay(err error, bo *backoff, limit time.Duration) time.Duration {
	d := bo.next()
	var b *busyError
	if errors.As(err, &b) {
		d += min(b.after, limit)
	}
	return d
}
