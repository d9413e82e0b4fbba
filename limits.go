package fanout

import "fmt"

// Default limits, used where an option is zero.
const (
	DefaultShards               = 64
	DefaultMaxTopics            = 1_000_000
	DefaultMaxUnpublishedTopics = 100_000
	DefaultMaxMessageSize       = 64 << 10
	DefaultMaxTopicLength       = 200
	DefaultQueueSize            = 512
	DefaultMaxSubscriptions     = 1024
)

// topicByte reports which bytes may appear in a topic name. The set keeps
// names safe to embed unescaped in JSON, URLs, SSE ids, Redis keys and NATS
// subject tokens (after the NATS broker's own encoding of '.').
var topicByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "._-:/@~" {
		t[c] = true
	}
	return t
}()

// ValidTopic reports whether name is a valid topic name of at most maxLen
// bytes (DefaultMaxTopicLength when maxLen <= 0). The error wraps
// ErrInvalidTopic and says which rule the name breaks.
func ValidTopic(name string, maxLen int) error {
	if maxLen <= 0 {
		maxLen = DefaultMaxTopicLength
	}
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	}
	if len(name) > maxLen {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalidTopic, len(name), maxLen)
	}
	for i := 0; i < len(name); i++ {
		if !topicByte[name[i]] {
			return fmt.Errorf("%w: byte %q at offset %d; use A-Z a-z 0-9 . _ - : / @ ~", ErrInvalidTopic, name[i], i)
		}
	}
	return nil
}
