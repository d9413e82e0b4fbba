package transport

// Actions of a client command (docs/protocol.md).
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// Error codes, sent as the code of an error message and as the reason of
// an unsubscribed message. See docs/protocol.md for what a client does with
// each.
const (
	CodeBadRequest        = "bad_request"
	CodeUnknownAction     = "unknown_action"
	CodeInvalidTopic      = "invalid_topic"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeLimit             = "limit"
	CodeAlreadySubscribed = "already_subscribed"
	CodeNotSubscribed     = "not_subscribed"
	CodeRateLimited       = "rate_limited"
	CodeUnavailable       = "unavailable"

	// ReasonRequested is the reason of an unsubscribed message that
	// answers the client's own unsubscribe command.
	ReasonRequested = "requested"
)

// WebSocket close codes used by the server, beyond the standard ones
// (1000 normal, 1001 going away, 1008 policy violation, 1009 message too
// big, 1011 internal error, 1013 try again later).
const (
	// CloseSlowConsumer closes a connection whose queue overflowed. The
	// client reconnects at once, with jitter, and resumes every topic.
	CloseSlowConsumer = 4000
	// CloseReconnect closes a connection drained for a deploy. The client
	// reconnects after a random delay and resumes.
	CloseReconnect = 4001
	// CloseProtocolViolation closes a connection that sent binary frames
	// or too many invalid commands. The client reconnects with backoff.
	CloseProtocolViolation = 4002
)
