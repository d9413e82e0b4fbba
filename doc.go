// Package fanout pushes small, frequent updates on named topics (live
// scores, prices, positions on a map) to very many subscribers, with the
// guarantees a live page needs.
//
// # Model
//
// A [Hub] holds topics, created on first use and sharded by name so that
// work on different topics does not contend. Publishing on a topic
// assigns the next sequence number of the topic (from 1, within the
// topic's random epoch), keeps the message in the topic's bounded history
// and queues it for every subscriber of the topic, without ever waiting for
// one. A message is allocated once and shared by all its subscribers: a
// delivery allocates nothing.
//
// A topic may keep a snapshot, the full state a joining subscriber needs:
// [Hub.PublishState] replaces it atomically with an update,
// [TopicConfig.RetainLast] makes every message its own snapshot (tickers),
// and [Options.Loader] loads the snapshot of a cold topic on first join.
//
// A [Subscriber] is one consumer, typically one client connection, with one
// bounded queue for all its topics. The hub starts no goroutine for it: the
// consumer drains the queue with [Subscriber.Next] or, in batches without
// allocating, [Subscriber.Drain], woken by [Subscriber.Ready] or
// [SubscriberOptions.OnReady]. The transports in transport/ws,
// transport/sse and transport/poll turn a Subscriber into a wire.
//
// # Guarantees
//
//   - Order: a subscriber receives each topic's messages in increasing
//     sequence order.
//   - No silent gap: within an epoch a subscriber receives k, k+1, k+2, ...
//     with no hole, unless it chose the lossy [OverflowConflate] policy for
//     topics whose messages are full states, or joined from a snapshot
//     whose later updates it could not all be given (see below); a hole
//     is then marked with [Delivery.Gap].
//   - Snapshot-on-join is atomic: [Subscriber.Subscribe] delivers the
//     topic's snapshot at some k (nil data when the topic keeps no state:
//     every subscription starts with one), then exactly k+1, k+2, ...,
//     even while others publish. When the snapshot is older than the
//     head, the updates after it come from history; if history no longer holds them all, or
//     they do not fit the queue, the first update delivered after the
//     snapshot is marked with [Delivery.Gap]. Publishing state often
//     enough ([Hub.PublishState], [TopicConfig.RetainLast]) for
//     [TopicConfig.HistorySize] to cover it avoids this.
//   - Resume: [Subscriber.Resume] from a [Position] (epoch, seq) replays
//     seq+1, ... from history when history still holds them and they fit
//     the queue; otherwise it delivers the snapshot as a [Reset]. Another
//     epoch (the topic's history was lost) always yields a reset.
//   - Bounded memory: queues, history, topic count, subscriptions and
//     message sizes all have limits. A slow consumer never blocks the
//     publisher or other subscribers: by default it is ended with
//     [ErrSlowConsumer] (and can resume), never silently dropped.
//   - Clients cannot crowd out publishers: topics that exist only because
//     subscribers named them are bounded apart
//     ([Options.MaxUnpublishedTopics]) and go with their last subscriber,
//     so no client traffic makes [Hub.Publish] fail. An application that
//     knows its topics refuses the others before anything is allocated
//     ([Options.TopicExists], or a [Options.Loader] error wrapping
//     [ErrNotFound]); the transports answer not_found.
//   - No leaks: closing a Subscriber or the Hub frees everything; the hub's
//     one goroutine (the sweeper that expires history and evicts idle
//     topics) stops when it closes.
//
// # Several nodes
//
// With [Options.Broker], several hubs (gateway processes) share their
// topics through a [Broker], which assigns the sequence numbers and keeps
// history and snapshots, so that a client resumes on any node, even one
// that has not yet received what the client saw elsewhere. A node that
// misses publications (a dropped message, a lost connection) fetches them
// from the broker's history before delivering what follows, or resets its
// subscribers when history cannot cover the hole; a node that is merely
// behind its own broker stream resets no one. While the broker is down,
// publishing fails with [ErrBroker] and stores nothing; [Hub.PublishRetry]
// and [Hub.PublishStateRetry] wait the outage out. The Redis
// and NATS brokers live in their own modules, broker/redis and
// broker/nats; package broker/memory connects hubs within one process.
//
// # Serving
//
// Package transport/serve mounts the transports and the browser client on
// a mux, runs the http.Server and drains it all at a deploy, with a
// readiness handler for the load balancer. The library bounds what a
// client costs once its request reaches a handler (the limits above, and
// each transport's Options: connections, topics, commands, a slow reader);
// the application's http.Server must bound what comes before, which no
// handler sees: ReadHeaderTimeout against half-sent requests, IdleTimeout,
// MaxHeaderBytes. serve.NewServer sets them and says why WriteTimeout must
// stay zero. Connections per client address are for the proxy in front.
//
// # Occupancy and metrics
//
// [Hub.Occupancy] counts a topic's subscribers on every node: each node
// reports the counts that changed, in batches, on a side channel of a
// broker that implements [OccupancyBroker] (the memory, Redis and NATS
// brokers do), and forgets a node that stops reporting
// ([OccupancyOptions]). [TopicConfig.Occupancy] pushes the count to the
// topic's subscribers as [Occupancy] deliveries, at most once a second.
// The hub's counters ([Hub.Stats], [Hub.OccupancyStats], [Hub.QueueDepth])
// and a [Meter] per transport handler are plain values; package metrics
// and the metrics/prometheus module export them (docs/operations.md).
package fanout
