// Package nats is a fanout.Broker on NATS JetStream: several gateway
// processes (nodes), each with its own fanout.Hub and Broker, show every
// topic with the same (epoch, seq), so a client can resume on any node.
//
// # Design
//
// One JetStream stream (Options.Stream) holds every topic, on subjects
// under Options.Prefix:
//
//   - <prefix>.t.<topic> holds the topic's history. The stream's
//     MaxMsgsPerSubject is Options.HistorySize, so JetStream trims each
//     topic to its newest messages.
//   - <prefix>.s.<topic> holds the topic's snapshot: one message, each new
//     one replacing the last (a subject rollup).
//   - <prefix>.d.<topic> carries live publications. The stream republishes
//     each history message there once it is stored (RePublish), and each
//     node subscribes to the topics its clients watch with plain core
//     NATS subscriptions: cheap per topic, and only stored messages are
//     ever delivered. (A core subscription on the history subject itself
//     would also receive messages the stream rejected: a publisher that
//     lost the race for a sequence number, or an aborted batch. An
//     ordered consumer per topic would cost the server a consumer per
//     topic and node.)
//
// A topic name becomes one subject token by replacing each '.' with '%',
// which topic names never contain.
//
// Sequence numbers. A topic's sequence number is carried in a header of
// each history message, with its epoch and the stream sequence of the
// topic's previous message. Publish reads the topic's newest message,
// takes the next number, and stores the new message with
// Nats-Expected-Last-Subject-Sequence: the stream accepts it only if no
// other message reached the topic meanwhile, else Publish reads again and
// retries. Numbers are therefore contiguous and unique under any number of
// publishers on any number of nodes, and the stream leader is the only
// authority.
//
// Snapshots. A publish that carries state (or retains its message as the
// snapshot) writes its history message and the snapshot message as one
// JetStream atomic batch (server 2.12 or later): both are stored or
// neither. The history message also carries the state, so the live
// publication hands it to every node with the update. Keeping the state
// only in history messages, and having Recover look for the newest one
// with state, would lose the snapshot once HistorySize newer updates
// trimmed it; the snapshot subject keeps exactly the newest one however
// old it is.
//
// Epochs. The epoch of a topic is a digest of the stream's name and
// creation time: it survives server restarts and changes when the stream
// is deleted or its storage lost, and with it every topic restarts at
// seq 1. Each message records its epoch, and a topic keeps the epoch of its
// newest message. With Options.MaxAge a topic can expire completely and
// later live again in the same stream; such a new life takes a fresh
// random epoch, so that positions from the old life are never served from
// the new one. Recover of an empty topic then stores a life marker (a
// message with seq 0, never delivered) that fixes the epoch it announces,
// so that the first Publish uses the same one.
//
// Recover reads the topic's snapshot and newest message from the stream
// leader (direct get only on a single replica: no lagging replica ever
// answers). A few
// missed messages it reads one by one, walking back through the recorded
// predecessors; a longer range comes through an ephemeral consumer.
// Subscribe delivers from a goroutine the broker owns, in the order NATS
// delivers, and Sink.Reconnected is called after each reconnect of the
// NATS connection and after NATS dropped live publications because
// Options.ReceiveBuffer was full.
//
// # Costs
//
//   - Publish takes two round trips to the stream leader (read the head,
//     store), more when publishers on one topic collide. The head read is
//     a direct get on a single replica, a JetStream API request (JSON)
//     on a replicated stream: publishing on one
//     topic is serialised, and its rate falls as publishers contend.
//     Different topics do not contend.
//   - A publish with state is stored twice (history and snapshot) and
//     sent once more with the live publication; state also travels with
//     the history message.
//   - Recover costs two reads, plus one per missed message up to 16 or a
//     consumer (create, fetch, delete) beyond, plus a stream info request
//     for a topic with no messages.
//   - Live delivery is at most once (core NATS). A publication lost while
//     a node's connection is down or dropped because Options.ReceiveBuffer
//     is full (both signalled with Sink.Reconnected), or not republished because the stream leader failed between
//     storing and republishing, is a gap in the sequence numbers, which the
//     hub repairs from Recover when the next publication or a reconnect
//     shows it. A loss at the very end of a quiet topic shows only with the
//     next publication.
//   - A Publish that times out is ambiguous: Publish then checks whether
//     its message became the topic's newest one, and reports success if so;
//     a message stored later than that check is not reported.
//   - Do not purge the stream or its subjects: without MaxAge a topic
//     whose messages vanish would restart at seq 1 in the same epoch.
//     Delete the stream instead, which changes the epoch.
package nats
