// Package redis is a fanout.Broker on Redis, so that several gateway
// processes (nodes) show every topic with the same (epoch, seq) and a
// client can resume on any node.
//
// # Design
//
// Each topic owns three keys that share the hash tag {<prefix>:<topic>},
// so that one Lua script may touch them all, in a Redis Cluster too:
//
//	{fanout:<topic>}:m   hash: e = the epoch, s = the newest sequence number
//	{fanout:<topic>}:h   stream: the history, entry ID <seq>-0, fields d (data), f (flags)
//	{fanout:<topic>}:s   hash: q = the snapshot's sequence number, d = the snapshot
//
// and one Pub/Sub channel, {fanout:<topic>}:c. A publish is one script,
// run with EVALSHA (EVAL when Redis answers NOSCRIPT, after a restart or
// SCRIPT FLUSH), that atomically creates the epoch when the topic has none
// (a new random one: when Redis loses a topic, through expiry, FLUSHALL or
// a restart without persistence, its sequence restarts under a new epoch),
// increments the sequence, appends to the history stream (trimmed to
// about Options.HistorySize entries; Recover serves exactly that many),
// replaces the snapshot, refreshes
// the expiry of every key and PUBLISHes the encoded publication. Epoch and
// sequence live in one hash so that they can only be lost together: a
// sequence number is never reused within an epoch.
//
// Concurrent Publish calls are batched: one goroutine owned by the Broker
// sends every request waiting at that moment as one pipeline of EVALSHAs,
// so that under load a round trip carries many publishes, while a lone
// publish waits for nothing.
//
// Each Broker reads one Pub/Sub connection with one goroutine, which hands
// publications to the hub in the order Redis sent them, that is sequence
// order. go-redis reconnects that connection by itself and subscribes its
// channels again; the Broker notices (a read error, or a subscription
// confirmation it did not ask for) and calls Sink.Reconnected, after the
// channels are subscribed again, so the hub repairs every topic. A
// connection that stays silent is PINGed, and replaced when the PING goes
// unanswered (Options.HealthInterval), since a half-open connection fails
// no read.
//
// See the module's README.md for the guarantees, their limits (Redis
// persistence can roll positions back) and measured costs.
//
// # Why go-redis
//
// github.com/redis/go-redis/v9 is the client most Go programs that use
// Redis already have, so a *redis.Client can be shared through
// Options.Client, and its Pub/Sub type reconnects and resubscribes by
// itself. rueidis pipelines automatically and would batch without our
// batcher, but it is a second Redis client in most programs, and its
// client-side caching is of no use here.
package redis
