package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// sseSession opens an event stream of the client's topics, with the last
// event id as Last-Event-ID after a reconnection so that the server
// resumes every topic, and checks what comes until the stream ends or ctx
// is done.
func (c *client) sseSession(ctx context.Context) (bool, error) {
	q := url.Values{"topic": c.topics}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.load.sseURL+"?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.lastID != "" {
		req.Header.Set("Last-Event-ID", c.lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, &statusError{resp.StatusCode}
	}
	c.opened()
	defer c.closed()
	return true, c.readEvents(bufio.NewReaderSize(resp.Body, 4<<10)) // small: one per connection; longer lines are joined
}

// readEvents reads and checks events until the stream ends.
func (c *client) readEvents(br *bufio.Reader) error {
	var (
		data, line []byte
		id, event  string
		hasID      bool
	)
	for {
		line = line[:0]
		for { // a line may be longer than the buffer
			part, err := br.ReadSlice('\n')
			line = append(line, part...)
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return err
			}
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 { // the end of an event
			if len(data) > 0 {
				c.handle(data, cmp.Or(event, "message"), time.Now())
			}
			if hasID {
				c.lastID = id
			}
			data, hasID, event = data[:0], false, ""
			continue
		}
		if line[0] == ':' { // a comment: the heartbeat
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, value...)
		case "id":
			id, hasID = string(value), true
		case "event":
			event = eventName(value)
		}
	}
}

// eventName returns an SSE event's name, without allocating for the
// protocol's types.
func eventName(v []byte) string {
	if t := internType(v); t != string(v) || len(v) == 0 {
		return t
	}
	return string(v)
}
