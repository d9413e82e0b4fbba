package fanout

import "errors"

// Errors returned by the hub and its subscribers. They are wrapped with
// context at the exported boundary; test for them with errors.Is.
var (
	// ErrClosed is returned by calls on a closed Hub or Subscriber, and is
	// the error that ends subscribers when their hub closes.
	ErrClosed = errors.New("fanout: closed")

	// ErrInvalidTopic reports a topic name that breaks the naming rules:
	// 1 to MaxTopicLength bytes from the set A-Z a-z 0-9 and . _ - : / @ ~.
	ErrInvalidTopic = errors.New("fanout: invalid topic name")

	// ErrTooLarge reports a message or snapshot bigger than
	// Options.MaxMessageSize.
	ErrTooLarge = errors.New("fanout: message too large")

	// ErrLimit reports that a configured limit (topics per hub,
	// subscriptions per subscriber) is reached. The wrapping error names
	// the limit and the option that raises it.
	ErrLimit = errors.New("fanout: limit reached")

	// ErrSlowConsumer ends a subscriber whose queue overflowed under the
	// default overflow policy. Its messages were not silently dropped: the
	// consumer can resume every topic from the last position it processed.
	ErrSlowConsumer = errors.New("fanout: slow consumer: queue overflowed")

	// ErrSubscribed is returned by Subscribe and Resume when the subscriber
	// already subscribes to the topic.
	ErrSubscribed = errors.New("fanout: already subscribed")

	// ErrNotFound is returned by Subscribe and Resume for a topic the
	// application says does not exist (Options.TopicExists, or a Loader
	// error that wraps it). Nothing stays allocated for it.
	ErrNotFound = errors.New("fanout: no such topic")
	// ErrNotSubscribed is returned by Unsubscribe for a topic the
	// subscriber does not subscribe to.
	ErrNotSubscribed = errors.New("fanout: not subscribed")
)
