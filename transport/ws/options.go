package ws

import (
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// Defaults of Options.
const (
	DefaultMaxTopics      = 100
	DefaultCommandRate    = 20
	DefaultCommandBurst   = 50
	DefaultReadLimit      = 4096
	DefaultMaxFrameSize   = 64 << 10
	DefaultWriteTimeout   = 10 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultMaxConnections = 10000
)

// maxInvalid is how many invalid commands in a row (malformed or with an
// unknown action) a connection may send before it is closed with
// transport.CloseProtocolViolation.
const maxInvalid = 10

// maxPendingReplies bounds the control replies (subscribed, unsubscribed,
// error) waiting for the writer, in bytes. A client that keeps sending
// commands while not reading its replies is closed as a slow consumer.
const maxPendingReplies = 64 << 10

// drainBatch is how many deliveries the writer moves out of the queue at
// once.
const drainBatch = 128

// Options configures a Handler. The zero value gives the defaults.
type Options struct {
	// Auth holds the authorization hooks: Connect runs before the upgrade
	// (a denial answers HTTP 403 with the error's text), Subscribe on every
	// subscribe command (a denial answers an error message with the code
	// forbidden; the connection stays open). The zero value allows all.
	Auth transport.Auth

	// QueueSize bounds the messages queued for one connection over all its
	// topics (fanout.SubscriberOptions.QueueSize). Zero means
	// fanout.DefaultQueueSize.
	QueueSize int

	// Overflow is the policy for a connection whose queue is full. The
	// default, fanout.OverflowDisconnect, closes it with
	// transport.CloseSlowConsumer (4000) so that the client resumes.
	Overflow fanout.Overflow

	// MaxTopics bounds the subscriptions of one connection; a subscribe
	// beyond it is answered with the code limit. Zero means
	// DefaultMaxTopics (100).
	MaxTopics int

	// CommandRate is the sustained rate of commands a connection may send,
	// per second, and CommandBurst the burst above it (a token bucket).
	// A command beyond them is answered with the code rate_limited. A
	// connection that sends more rate-limited commands in a row than
	// CommandBurst, or 10 malformed ones in a row, is closed with
	// transport.CloseProtocolViolation (4002). Zero means
	// DefaultCommandRate (20/s), and for the burst the larger of
	// DefaultCommandBurst (50) and MaxTopics, so that a reconnecting client
	// may resubscribe all its topics at once.
	CommandRate  float64
	CommandBurst int

	// ReadLimit bounds one command frame, in bytes; a bigger frame closes
	// the connection with 1009 (message too big). Zero means
	// DefaultReadLimit (4096).
	ReadLimit int64

	// MaxFrameSize bounds one outgoing text frame, in bytes, when the
	// writer batches several messages into it. A single message bigger than
	// that is sent alone. Zero means DefaultMaxFrameSize (64 KiB).
	MaxFrameSize int

	// WriteTimeout bounds one frame write and the wait for a pong; a
	// connection that exceeds it is closed. Zero means DefaultWriteTimeout
	// (10s).
	WriteTimeout time.Duration

	// PingInterval is the time between keepalive pings. A ping not
	// answered within WriteTimeout closes the connection. Zero means
	// DefaultPingInterval (30s); a negative value disables pings.
	PingInterval time.Duration

	// MaxConnections bounds the open connections of the handler, counting
	// requests being upgraded. A request beyond it is refused before the
	// upgrade with HTTP 503 and a Retry-After header. Zero means
	// DefaultMaxConnections (10000).
	MaxConnections int

	// OriginPatterns, InsecureSkipVerify and CompressionMode are passed to
	// websocket.AcceptOptions: by default only same-host origins may
	// connect, and permessage-deflate is off.
	OriginPatterns     []string
	InsecureSkipVerify bool
	CompressionMode    websocket.CompressionMode
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = DefaultMaxTopics
	}
	if o.CommandRate <= 0 {
		o.CommandRate = DefaultCommandRate
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = max(DefaultCommandBurst, o.MaxTopics)
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	return o
}
