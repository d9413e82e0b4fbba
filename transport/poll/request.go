package poll

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
)

// request is a parsed and authorized poll.
type request struct {
	topics []string          // the topics Auth allows, distinct, in query order
	from   []fanout.Position // their positions; an empty epoch means none
	errors []byte            // error objects for the topics Auth denies, comma-terminated
}

// parse reads and authorizes a poll. A status other than 200 refuses it
// with msg.
func (h *Handler) parse(r *http.Request) (req request, status int, msg string) {
	q := r.URL.Query()
	names, epochs, sinces := q["topic"], q["epoch"], q["since"]
	if len(names) == 0 {
		return req, http.StatusBadRequest, "fanout: name the topics to poll: ?topic=a&epoch=e&since=41"
	}
	// A repeated topic counts once; its first position wins.
	seen := make(map[string]struct{}, min(len(names), h.opts.MaxTopics+1))
	first := make([]int, 0, min(len(names), h.opts.MaxTopics)) // the index of each distinct topic
	for i, name := range names {
		if _, dup := seen[name]; dup {
			continue
		}
		seen[name] = struct{}{}
		if len(seen) > h.opts.MaxTopics {
			return req, http.StatusBadRequest, fmt.Sprintf("fanout: more than %d topics in one poll; split the request or raise poll.Options.MaxTopics", h.opts.MaxTopics)
		}
		first = append(first, i)
	}
	positioned := len(epochs) > 0 || len(sinces) > 0
	if positioned && (len(epochs) != len(names) || len(sinces) != len(names)) {
		return req, http.StatusBadRequest, "fanout: give one epoch and one since per topic, in the same order (empty for a topic without a position)"
	}
	if pe := protocol.AllowConnect(h.opts.Auth, r); pe != nil {
		return req, http.StatusForbidden, pe.Message
	}
	var denials protocol.Joiner
	for _, i := range first {
		name := names[i]
		var pos fanout.Position
		if positioned {
			var ok bool
			if pos, ok = position(epochs[i], sinces[i]); !ok {
				return req, http.StatusBadRequest, fmt.Sprintf("fanout: topic %q: epoch and since go together, since an integer from 0 to 2^64-1", protocol.Clip(name, protocol.MaxEchoTopic))
			}
		}
		if pe := protocol.AllowSubscribe(h.opts.Auth, r, name); pe != nil {
			req.errors = append(protocol.AppendError(req.errors, pe, name, 0, false), ',')
			h.stats.Rejected(pe.Code)
			denials.Add(name, pe.Message)
			continue
		}
		req.topics = append(req.topics, name)
		req.from = append(req.from, pos)
	}
	if len(req.topics) == 0 {
		return req, http.StatusForbidden, "fanout: every topic is denied: " + denials.String()
	}
	return req, http.StatusOK, ""
}

// position parses one epoch/since pair; both empty is no position.
func position(epoch, since string) (fanout.Position, bool) {
	if epoch == "" && since == "" {
		return fanout.Position{}, true
	}
	seq, err := strconv.ParseUint(since, 10, 64)
	if epoch == "" || err != nil {
		return fanout.Position{}, false
	}
	return fanout.Position{Epoch: epoch, Seq: seq}, true
}
