package poll

import (
	"net/http"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
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

	// MaxPerClient, when positive, bounds the requests of one client
	// served at once, the client being named by ClientKey; beyond it
	// requests are answered 503 with Retry-After, so that one client
	// cannot hold all of MaxHeld. Zero means no limit per client.
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

	// WriteTimeout bounds the write of an answer: a client that does not
	// take it in time is cut, and the answer's memory released. Zero
	// means 10s.
	WriteTimeout time.Duration

	// MaxUnsentBytes bounds one answer's body, in bytes: the messages
	// that do not fit (one always does) wait for the next poll, which
	// resumes from the last message the client got. Zero means 1 MiB.
	MaxUnsentBytes int

	// SendBuffer caps the kernel send buffer (SO_SNDBUF) of the
	// connections polls come on, in bytes, so that an answer a client
	// does not read fills it soon and WriteTimeout cuts the connection
	// (with a reset: the kernel drops what was not read). It needs the
	// http.Server's ConnContext to be transport.ConnContext (serve.NewServer
	// sets it): net/http owns a poll's connection. Zero means 128 KiB; a
	// negative value leaves the kernel's size.
	SendBuffer int

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
	defaultHoldTimeout    = 25 * time.Second
	defaultMaxHeld        = 10000
	defaultMaxTopics      = 100
	defaultWriteTimeout   = 10 * time.Second
	defaultMaxUnsentBytes = 1 << 20
	defaultSendBuffer     = 128 << 10
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
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.MaxUnsentBytes <= 0 {
		o.MaxUnsentBytes = defaultMaxUnsentBytes
	}
	if o.QueueSize <= 0 {
		o.QueueSize = fanout.DefaultQueueSize
	}
	o.SendBuffer = conns.OrDefault(o.SendBuffer, defaultSendBuffer)
	return o
}
