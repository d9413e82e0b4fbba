package sse

import (
	"net/http"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// Options configures a Handler. The zero value gives the defaults.
type Options struct {
	// Auth holds the authorization hooks. Auth.Connect refuses a stream
	// with 403; Auth.Subscribe denies a topic with an error event on the
	// stream, or with 403 when it denies every topic. Zero allows all.
	Auth transport.Auth

	// QueueSize bounds the messages queued for one stream over all its
	// topics. Zero means fanout.DefaultQueueSize.
	QueueSize int

	// Overflow is the policy for a full queue. The default,
	// fanout.OverflowDisconnect, ends the stream; the browser reconnects
	// and resumes with Last-Event-ID.
	Overflow fanout.Overflow

	// MaxTopics bounds the topics of one stream; a request naming more is
	// answered 400. Every event's id names the position of every topic of
	// its stream (up to 52 bytes each), so streams of many topics cost
	// bytes on every event. Zero means 100.
	MaxTopics int

	// Retry is the reconnection delay the stream asks the browser to use
	// (the retry: field). Zero means 2s.
	Retry time.Duration

	// Heartbeat is how long a stream may stay silent before it is sent a
	// comment line (": ping"), which keeps proxies from timing it out and
	// detects a dead client by a failed write. Zero means 25s.
	Heartbeat time.Duration

	// MaxConnections bounds the streams open at once; beyond it requests
	// are answered 503 with Retry-After. Zero means 10000.
	MaxConnections int

	// WriteTimeout bounds one write to a client; a client that does not
	// take the bytes in time is disconnected. Zero means 10s.
	WriteTimeout time.Duration

	// MaxLag bounds how long a message may wait for a stream that does
	// not keep up: when the oldest message not yet written to the stream
	// is older than MaxLag (counted from its publication, or from the
	// stream's start for a snapshot or a resume's replay), the stream
	// ends, and the browser reconnects and resumes. A write that blocks
	// past that point is cut. Zero means 10s; a negative value disables
	// the check.
	MaxLag time.Duration

	// MaxUnsentBytes bounds how far a stream may fall behind, in bytes:
	// counted from the moment its queue was last empty, the bytes of the
	// events its writer took from the queue while it never caught up.
	// Beyond it the stream ends (and resumes). A stream that keeps up
	// empties its queue at every write and never nears it. Zero means 16
	// MiB; a negative value disables the check.
	MaxUnsentBytes int

	// SendBuffer caps the kernel send buffer (SO_SNDBUF) of each stream
	// the handler takes over (HTTP/1.1), in bytes, so that a client that
	// stops reading is found by the limits above within a bounded amount
	// of kernel memory (the kernel otherwise grows it to megabytes on a
	// fast link; Linux doubles the value given). Zero means 128 KiB; a
	// negative value leaves the kernel's.
	SendBuffer int

	// MaxPerClient, when positive, bounds the streams of one client, named
	// by ClientKey; a request beyond it is answered 503 with Retry-After,
	// so that one client cannot take all of MaxConnections. Zero means no
	// limit per client.
	MaxPerClient int

	// ClientKey names the client of a request for MaxPerClient. Nil means
	// the host of r.RemoteAddr, which is right only when clients connect
	// directly: behind a proxy or load balancer every request has the
	// proxy's address (supply a key from a header the proxy sets, such as
	// the first hop of X-Forwarded-For, and trust it only from the proxy),
	// and behind a NAT (offices, mobile carriers) many users share one
	// address (a limit on it refuses them together; key by an
	// authenticated user instead).
	ClientKey func(r *http.Request) string

	// MaxBatchBytes bounds what one write carries: everything queued is
	// written at once up to this many bytes (plus one event). Zero means
	// 64 KiB.
	MaxBatchBytes int
}

// Defaults of Options.
const (
	defaultMaxTopics      = 100
	defaultRetry          = 2 * time.Second
	defaultHeartbeat      = 25 * time.Second
	defaultMaxConnections = 10000
	defaultWriteTimeout   = 10 * time.Second
	defaultMaxBatchBytes  = 64 << 10
	defaultMaxLag         = 10 * time.Second
	defaultMaxUnsentBytes = 16 << 20
	defaultSendBuffer     = 128 << 10
)

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = defaultMaxTopics
	}
	if o.Retry <= 0 {
		o.Retry = defaultRetry
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = defaultHeartbeat
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = defaultMaxConnections
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = defaultMaxBatchBytes
	}
	o.MaxLag = conns.OrDefault(o.MaxLag, defaultMaxLag)
	o.MaxUnsentBytes = conns.OrDefault(o.MaxUnsentBytes, defaultMaxUnsentBytes)
	o.SendBuffer = conns.OrDefault(o.SendBuffer, defaultSendBuffer)
	return o
}
