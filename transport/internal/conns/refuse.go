package conns

import (
	"net/http"
	"strconv"
)

// RetryAfter is the Retry-After of a 503 answer, in seconds.
const RetryAfter = 5

// Unavailable answers 503 with Retry-After and msg.
func Unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	http.Error(w, msg, http.StatusServiceUnavailable)
}

// Refuse answers a request that Admit refused (why is not Admitted) with
// Unavailable, saying why; noun names what the handler serves, such as
// "connections".
func Refuse(w http.ResponseWriter, why Refusal, noun string) {
	switch why {
	case PerClient:
		Unavailable(w, "fanout: too many "+noun+" from this client at once; close one, or retry later")
	case Closing:
		Unavailable(w, "fanout: the server is shutting down; retry later, or elsewhere")
	default:
		Unavailable(w, "fanout: too many "+noun+" on this server; retry later")
	}
}
