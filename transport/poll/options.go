package poll

import (
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

// Options configures a Handler. The zero value gives the defaults.
type Options struct {
	// Auth holds the authorization hooks. Auth.Connect refuses a request
	// with 403; Auth.Subscribe denies a topic with an error object in the
	// answer, or with 403 when it denies every topic. Zero allows all.
	Auth transport.Auth

	// HoldTimeout is how long a request waits for a message before it is
	// answered with an empty array. Keep it below the idle timeouts of the
	// proxies in front of the server. Zero means 25s.
	HoldTimeout time.Duration

	// MaxHeld bounds the requests served at once (almost all of them are
	// held ones, each holding a goroutine); beyond it requests are
	// answered 503 with Retry-After. Zero means 10000.
	MaxHeld int

	// MaxTopics bounds the topics of one request; a request naming more
	// is answered 400. Zero means 100.
	MaxTopics int

	// QueueSize bounds the messages one answer carries over all its
	// topics: a resume that misses more is answered with a reset. Zero
	// means fanout.DefaultQueueSize.
	QueueSize int
}

// Defaults of Options.
const (
	defaultHoldTimeout = 25 * time.Second
	defaultMaxHeld     = 10000
	defaultMaxTopics   = 100
)

func (o Options) withDefaults() Options {
	if o.HoldTimeout <= 0 {
		o.HoldTimeout = defaultHoldTimeout
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = defaultMaxHeld
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = defaultMaxTopics
	}
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	return o
}
