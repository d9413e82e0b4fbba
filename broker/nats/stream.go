package nats

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamConfig is the stream the broker keeps its topics in.
//
//   - <prefix>.t.<topic>: the topic's history, MaxMsgsPerSubject of them;
//   - <prefix>.s.<topic>: the topic's snapshot, one message (a rollup);
//   - republished after storing, by the stream leader, to
//     <prefix>.d.<topic>, which nodes subscribe to with core NATS.
//
// Atomic batch publish writes a history message and its snapshot as one
// step. Reads must see every acknowledged message: on a single replica
// they use direct get (about half the cost of the JSON API), on a
// replicated stream AllowDirect stays off so that the stream leader
// serves every read, never a lagging replica.
func (b *Broker) streamConfig() jetstream.StreamConfig {
	p := b.opts.Prefix
	return jetstream.StreamConfig{
		Name:               b.opts.Stream,
		Description:        "fanout topics: history, snapshots and live publications",
		Subjects:           []string{p + ".t.>", p + ".s.>"},
		Retention:          jetstream.LimitsPolicy,
		Storage:            jetstream.FileStorage,
		Replicas:           b.opts.Replicas,
		MaxMsgsPerSubject:  int64(b.opts.HistorySize),
		MaxAge:             b.opts.MaxAge,
		Discard:            jetstream.DiscardOld,
		AllowRollup:        true,
		AllowAtomicPublish: true,
		RePublish:          &jetstream.RePublish{Source: p + ".t.>", Destination: p + ".d.>"},
		AllowDirect:        b.opts.Replicas == 1,
	}
}

// createAttempts bounds the tries of ensureStream when the server fails
// to create the stream's store, which it does now and then when the
// stream was deleted a moment before (a test's flush, an operator) while
// other nodes create it again at once.
const createAttempts = 4

// ensureStream creates the stream, or updates its configuration to the
// broker's, and returns it.
func (b *Broker) ensureStream(ctx context.Context) (jetstream.Stream, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	var (
		s   jetstream.Stream
		err error
	)
	for attempt, wait := 1, 10*time.Millisecond; ; attempt, wait = attempt+1, 2*wait {
		s, err = b.js.CreateOrUpdateStream(ctx, b.streamConfig())
		if err == nil || attempt == createAttempts || !isServerFailure(err) {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", b.opts.Stream, err)
	}
	b.streamMu.Lock()
	b.stream = s
	b.streamMu.Unlock()
	return s, nil
}

// getStream returns the stream handle. The handle addresses the stream by
// name, so it stays valid when the stream is recreated.
func (b *Broker) getStream() jetstream.Stream {
	b.streamMu.Lock()
	defer b.streamMu.Unlock()
	return b.stream
}

// baseEpoch returns the epoch of the current incarnation of the stream:
// a digest of its name and creation time, which a server keeps across
// restarts and which changes when the stream, and so its data, is lost and
// created again. It asks the server every time, so that it never returns
// the epoch of a stream that no longer exists.
func (b *Broker) baseEpoch(ctx context.Context) (string, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	info, err := b.getStream().Info(ctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		var s jetstream.Stream
		if s, err = b.ensureStream(ctx); err == nil {
			info, err = s.Info(ctx)
		}
	}
	if err != nil {
		return "", fmt.Errorf("stream info: %w", err)
	}
	sum := sha256.Sum256([]byte(info.Config.Name + "\x00" + strconv.FormatInt(info.Created.UnixNano(), 10)))
	return base64.RawURLEncoding.EncodeToString(sum[:6]), nil
}

// lastMsg returns the newest message stored on subj, or nil if none.
func (b *Broker) lastMsg(ctx context.Context, subj string) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	m, err := b.getStream().GetLastMsgForSubject(ctx, subj)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, natsgo.ErrNoResponders):
		// The stream is gone (a direct get finds no responder): make it
		// again; it is empty.
		if _, err := b.ensureStream(ctx); err != nil {
			return nil, err
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	return m, nil
}

// msgAt returns the message with stream sequence seq, or nil if the
// stream no longer holds it.
func (b *Broker) msgAt(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	ctx, cancel := b.withTimeout(ctx)
	defer cancel()
	m, err := b.getStream().GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	return m, err
}

func (b *Broker) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opts.RequestTimeout)
}

// isServerFailure reports a JetStream API error the server itself caused
// (HTTP-like status 500), which a retry may not meet again.
func isServerFailure(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code >= 500
}
