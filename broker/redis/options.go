package redis

import (
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Options configures a Broker. The zero value gives the defaults, with a
// Redis server at 127.0.0.1:6379.
type Options struct {
	// Addr is the Redis server, host:port, used when Client is nil.
	// Empty means "127.0.0.1:6379".
	Addr string

	// Client is the go-redis client to use instead of one made from Addr.
	// The Broker does not close it; close it after the Broker. Nil means
	// the Broker makes its own client from Addr and closes it in Close.
	//
	// Give it MaxRetries: -1: go-redis retries a command whose connection
	// broke, and a retried publish may be stored twice (with two sequence
	// numbers). The Broker's own client does not retry, and dials once
	// per command (DialerRetries: 1) so that publishes fail at once while
	// Redis is down. A failover client (redis.NewFailoverClient, for
	// Sentinel) is a *redis.Client too.
	Client *goredis.Client

	// KeyPrefix starts the hash tag of every key and channel of the
	// Broker, {<KeyPrefix>:<topic>}, so several applications can share a
	// Redis. Every node of one application must use the same. It must not
	// contain '{' or '}'. Empty means "fanout".
	KeyPrefix string

	// HistorySize is how many of each topic's newest messages Redis
	// keeps, so that a client can resume from them on any node. Zero
	// means DefaultHistorySize.
	HistorySize int

	// TTL is how long the keys of a topic that nobody publishes to or
	// recovers live in Redis. A topic used again after it expired starts
	// a new epoch, so its clients get a reset. Zero means DefaultTTL; a
	// negative value keeps topics until Redis loses them.
	TTL time.Duration

	// MaxBatch bounds how many publishes go to Redis in one pipeline.
	// Zero means DefaultMaxBatch. 1 turns batching off: each Publish then
	// runs its script on a connection of the client's pool by itself.
	MaxBatch int

	// Pipelines is how many pipelines may be on their way to Redis at
	// once, each sent by a goroutine of the Broker: while Redis runs one,
	// the next fills up. Zero means DefaultPipelines.
	Pipelines int

	// MaxPending bounds how many publishes may wait for the batcher;
	// Publish blocks (or fails with its context) while it is full. Zero
	// means DefaultMaxPending.
	MaxPending int

	// HealthInterval is how long the Pub/Sub connection may stay silent
	// before the Broker pings Redis on it; a ping unanswered for another
	// interval makes Health fail, and for a second one makes the Broker
	// replace the connection. Zero means DefaultHealthInterval.
	HealthInterval time.Duration
}

// Defaults of Options.
const (
	DefaultAddr           = "127.0.0.1:6379"
	DefaultKeyPrefix      = "fanout"
	DefaultHistorySize    = 256
	DefaultTTL            = time.Hour
	DefaultMaxBatch       = 128
	DefaultPipelines      = 2
	DefaultMaxPending     = 4096
	DefaultHealthInterval = time.Second
)

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.HistorySize <= 0 {
		o.HistorySize = DefaultHistorySize
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Pipelines <= 0 {
		o.Pipelines = DefaultPipelines
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	return o
}
