package redis

import goredis "github.com/redis/go-redis/v9"

// Flags of a publication, in the history stream's f field and in the
// Pub/Sub payload.
const (
	flagState  = 1 // the publish replaced the snapshot with its state
	flagRetain = 2 // the message itself became the snapshot
)

// ensureEpochLua makes sure the topic has an epoch. A topic without one
// (never used, expired, flushed, or lost in a restart) gets ARGV[1] and
// starts from scratch: a history or snapshot left over from an earlier
// life (a partial eviction) is dropped, so that the new epoch never shows
// an old message. It leaves epoch and seq in the locals of the script.
const ensureEpochLua = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'e', epoch, 's', 0)
end
`

// expireLua refreshes the expiry of the topic's keys to ARGV[2]
// milliseconds (none when it is not positive).
const expireLua = `
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
`

// publishScript stores and publishes one message.
//
// KEYS: meta hash, history stream, snapshot hash.
// ARGV: new epoch, ttl ms, flags, data, state, history size, channel.
// Returns {epoch, seq}.
//
// The stream is trimmed approximately (MAXLEN ~): Redis then drops only
// whole stream nodes, so it keeps HistorySize to HistorySize plus one
// node (stream-node-max-entries, 100 by default) of the newest messages,
// always contiguous. Exact trimming edits a node on every append: XADD
// alone runs 3.4 times slower with it, and the whole publish about 1.4
// times (see the README). Recover serves only the newest HistorySize, so
// the history a client sees is exactly HistorySize long either way.
var publishScript = goredis.NewScript(ensureEpochLua + `
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
local flags = tonumber(ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], string.format('%d-0', seq), 'd', ARGV[4], 'f', ARGV[3])
if flags % 2 == 1 then
  redis.call('HSET', KEYS[3], 'q', seq, 'd', ARGV[5])
elseif flags >= 2 then
  redis.call('HSET', KEYS[3], 'q', seq, 'd', ARGV[4])
end
` + expireLua + `
local state = ''
if flags % 2 == 1 then state = ARGV[5] end
redis.call('PUBLISH', ARGV[7], epoch .. ':' .. string.format('%d', seq) .. ':' .. ARGV[3] .. ':' .. #state .. ':' .. state .. ARGV[4])
return {epoch, seq}
`)

// recoverScript reads what a node needs to rebuild a topic, as one atomic
// step, and creates the topic's epoch when it has none, so that the
// publishes that follow use the epoch it reports.
//
// KEYS: meta hash, history stream, snapshot hash.
// ARGV: new epoch, ttl ms, the caller's epoch, the caller's seq, limit,
// history size (limit is cut to it).
// Returns {epoch, seq, snapshot seq or nil, snapshot or nil, entries},
// the entries newest first, as XREVRANGE gives them.
var recoverScript = goredis.NewScript(ensureEpochLua + expireLua + `
local seq = tonumber(redis.call('HGET', KEYS[1], 's'))
local snap = redis.call('HMGET', KEYS[3], 'q', 'd')
local after = 0
local limit = math.min(tonumber(ARGV[5]), tonumber(ARGV[6]))
if ARGV[3] == epoch then
  after = tonumber(ARGV[4])
elseif ARGV[3] ~= '' then
  limit = 0
end
local entries = {}
if limit > 0 and after < seq then
  entries = redis.call('XREVRANGE', KEYS[2], '+', string.format('%d-0', after + 1), 'COUNT', limit)
end
return {epoch, seq, snap[1], snap[2], entries}
`)

// keys names the keys and channel of one topic.
type keys struct {
	meta, hist, snap, channel string
}

func (b *Broker) keysFor(topic string) keys {
	tag := "{" + b.opts.KeyPrefix + ":" + topic + "}"
	return keys{meta: tag + ":m", hist: tag + ":h", snap: tag + ":s", channel: tag + ":c"}
}

// channelFor returns the Pub/Sub channel of topic.
func (b *Broker) channelFor(topic string) string {
	return "{" + b.opts.KeyPrefix + ":" + topic + "}:c"
}

// topicOf returns the topic of a channel of this Broker, and false for
// any other channel.
func (b *Broker) topicOf(channel string) (string, bool) {
	p := b.opts.KeyPrefix
	if len(channel) < len(p)+5 || channel[0] != '{' || channel[1:1+len(p)] != p || channel[1+len(p)] != ':' ||
		channel[len(channel)-3:] != "}:c" {
		return "", false
	}
	return channel[2+len(p) : len(channel)-3], true
}
