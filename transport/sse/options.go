package sse

import (
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
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
	return o
}
