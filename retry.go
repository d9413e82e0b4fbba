package fanout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of Retry.
const (
	DefaultMinRetryDelay = 50 * time.Millisecond
	DefaultMaxRetryDelay = 5 * time.Second
)

// Retry says how Hub.PublishRetry and Hub.PublishStateRetry wait between
// attempts while the broker fails. The zero value gives the defaults; a
// Retry holds no state and may be shared.
type Retry struct {
	// MinDelay is the wait after the first failure; it doubles after each
	// further one. Each wait is drawn between half and all of the delay,
	// so that publishers that failed together do not retry together.
	// Zero means DefaultMinRetryDelay.
	MinDelay time.Duration

	// MaxDelay caps the delay. Zero means DefaultMaxRetryDelay.
	MaxDelay time.Duration

	// OnRetry, when not nil, is called on the caller's goroutine after
	// each failed attempt that will be retried, with the attempt's error
	// and the number of failures so far in this call. failures == 1 marks
	// the start of an outage: log there, once, rather than per attempt.
	OnRetry func(err error, failures int)
}

// PublishRetry is Publish that rides out broker outages: while the
// publication fails with an error wrapping ErrBroker it tries again, with
// backoff (see Retry), until the broker stores it or ctx ends. Other
// errors (ErrInvalidTopic, ErrTooLarge, ErrLimit, ErrClosed) are returned
// at once: trying again cannot help. When ctx ends first, the error wraps
// both the last broker error and ctx's.
//
// A publication whose attempt timed out may have been stored all the same,
// so a retried one can be stored twice: publish updates that are safe to
// apply twice (absolute values, full states), or let clients ignore a
// repeated one. Without a broker, a publish never fails this way and
// PublishRetry is Publish.
func (h *Hub) PublishRetry(ctx context.Context, topic string, data []byte, r Retry) (Position, error) {
	return h.retry(ctx, r, func() (Position, error) { return h.Publish(topic, data) })
}

// PublishStateRetry is PublishState that rides out broker outages, as
// PublishRetry does Publish.
func (h *Hub) PublishStateRetry(ctx context.Context, topic string, update, state []byte, r Retry) (Position, error) {
	return h.retry(ctx, r, func() (Position, error) { return h.PublishState(topic, update, state) })
}

// retry calls publish until it succeeds, fails for good, ctx ends or the
// hub closes.
func (h *Hub) retry(ctx context.Context, r Retry, publish func() (Position, error)) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	delay, most := r.MinDelay, r.MaxDelay
	if delay <= 0 {
		delay = DefaultMinRetryDelay
	}
	if most <= 0 {
		most = DefaultMaxRetryDelay
	}
	for failures := 1; ; failures++ {
		pos, err := publish()
		if err == nil || !Retryable(err) {
			return pos, err
		}
		if r.OnRetry != nil {
			r.OnRetry(err, failures)
		}
		timer := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-timer.C:
		case <-h.stop: // the hub is closing: the next attempt reports ErrClosed
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return Position{}, fmt.Errorf("%w (gave up after %d attempts: %w)", err, failures, ctx.Err())
		}
		delay = min(2*delay, most)
	}
}

// Retryable reports whether err, from a publish, is worth trying again
// later: the broker failed (ErrBroker) and the hub is still open. Errors
// of the call itself (ErrInvalidTopic, ErrTooLarge), limits (ErrLimit) and
// ErrClosed are not.
func Retryable(err error) bool {
	for _, permanent := range []error{ErrClosed, ErrInvalidTopic, ErrTooLarge, ErrLimit} {
		if errors.Is(err, permanent) {
			return false
		}
	}
	return errors.Is(err, ErrBroker)
}
