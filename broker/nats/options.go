package nats

import (
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// Defaults used where an Options field is zero.
const (
	DefaultStream         = "FANOUT"
	DefaultPrefix         = "fanout"
	DefaultHistorySize    = 256
	DefaultReplicas       = 1
	DefaultReceiveBuffer  = 4096
	DefaultRequestTimeout = 5 * time.Second
)

// Options configures a Broker. The zero value connects to the NATS server
// at natsgo.DefaultURL and uses the defaults below.
type Options struct {
	// URL is the NATS server URL (a comma-separated list for a cluster).
	// Ignored when Conn is set. Empty means natsgo.DefaultURL.
	URL string

	// Conn, when set, is the connection the broker uses instead of
	// dialling URL. The broker does not close it. It should reconnect
	// forever (natsgo.MaxReconnects(-1)), since a closed connection ends
	// the broker's delivery, and buffer nothing while disconnected
	// (natsgo.ReconnectBufSize(-1)), so that a Publish that failed is not
	// sent later. The broker wraps its error handler until Close. Nil
	// means the broker dials URL itself, with those settings, and closes
	// the connection in Close.
	Conn *natsgo.Conn

	// Stream is the name of the JetStream stream that holds every topic's
	// history and snapshot. The broker creates it, or updates its
	// configuration, when it starts. Empty means DefaultStream.
	Stream string

	// Prefix starts every subject the broker uses: <Prefix>.t.<topic> holds
	// history, <Prefix>.s.<topic> snapshots and <Prefix>.d.<topic> carries
	// live publications. Two brokers share topics exactly when they share
	// Stream and Prefix. Empty means DefaultPrefix.
	Prefix string

	// HistorySize is how many messages of each topic the stream keeps
	// (the stream's MaxMsgsPerSubject). Zero means DefaultHistorySize.
	HistorySize int

	// MaxAge, when positive, is how long the stream keeps a message,
	// history and snapshots alike (the stream's MaxAge). Zero keeps them
	// until HistorySize pushes them out. See the package documentation
	// for what an expired topic means for epochs.
	MaxAge time.Duration

	// Replicas is the stream's replication factor in a NATS cluster. Every
	// node must use the same Stream, Prefix, HistorySize, MaxAge and
	// Replicas: each New sets the stream's configuration. Zero means
	// DefaultReplicas.
	Replicas int

	// ReceiveBuffer bounds the publications received from NATS and not yet
	// handed to the sink, over all topics. When it is full NATS drops
	// publications (a slow consumer); the broker then calls
	// Sink.Reconnected and the hub repairs from Recover. Zero means
	// DefaultReceiveBuffer.
	ReceiveBuffer int

	// RequestTimeout bounds each request to the NATS server when the
	// caller's context has no earlier deadline. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.URL == "" {
		o.URL = natsgo.DefaultURL
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.HistorySize <= 0 {
		o.HistorySize = DefaultHistorySize
	}
	if o.Replicas <= 0 {
		o.Replicas = DefaultReplicas
	}
	if o.ReceiveBuffer <= 0 {
		o.ReceiveBuffer = DefaultReceiveBuffer
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	return o
}
