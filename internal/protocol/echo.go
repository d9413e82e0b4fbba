package protocol

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds of what the server echoes back to a client (error messages and
// the bodies of refusals), so that a large request cannot make a larger
// answer.
const (
	// MaxEcho bounds an error message or a refusal's body, in bytes.
	MaxEcho = 512
	// MaxEchoTopic bounds a topic name echoed in an error.
	MaxEchoTopic = 256
	// maxEchoField bounds a client's value quoted inside a message.
	maxEchoField = 64
)

// Clip returns s cut to at most n bytes at a rune boundary, with "..."
// in place of what was cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "..."
	cut := max(n-len(more), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// Joiner builds a bounded list of failures, such as the topics of a
// request that were all refused: it keeps what fits in MaxEcho bytes and
// counts the rest. The zero value is ready to use.
type Joiner struct {
	b       strings.Builder
	dropped int
}

// Add appends "name: msg", the name and the message clipped.
func (j *Joiner) Add(name, msg string) {
	item := Clip(name, maxEchoField) + ": " + Clip(msg, 2*maxEchoField)
	if j.b.Len()+len(item)+2 > MaxEcho-32 {
		j.dropped++
		return
	}
	if j.b.Len() > 0 {
		j.b.WriteString("; ")
	}
	j.b.WriteString(item)
}

// String returns the list, with the count of what did not fit.
func (j *Joiner) String() string {
	if j.dropped == 0 {
		return j.b.String()
	}
	return j.b.String() + "; and " + strconv.Itoa(j.dropped) + " more"
}
