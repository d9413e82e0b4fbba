package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxPollBody bounds one long-poll answer the clients read.
const maxPollBody = 64 << 20

// pollSession long-polls the client's topics from their positions (a
// snapshot first for those without one) and checks every answer, until a
// request fails or ctx is done. The session counts as one open
// connection from its first answer.
func (c *client) pollSession(ctx context.Context) (opened bool, err error) {
	defer func() {
		if opened {
			c.closed()
		}
	}()
	for {
		msgs, err := c.poll(ctx)
		if err != nil {
			return opened, err
		}
		if !opened {
			opened = true
			c.opened()
		}
		now := time.Now()
		failed := false
		for _, m := range msgs {
			c.handle(m, "", now)
			failed = failed || isError(m)
		}
		if failed { // a topic refused: poll again after a backoff, not at once
			return opened, fmt.Errorf("fanout-load: an error in a poll answer")
		}
	}
}

// poll makes one long-poll request and returns the messages of its answer.
func (c *client) poll(ctx context.Context) ([]json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.load.pollURL+"?"+c.pollQuery(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{resp.StatusCode}
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		c.load.st.violate(time.Since(c.load.start), c.id, Malformed, fmt.Sprintf("poll answer: %v", err))
		return nil, err
	}
	return msgs, nil
}

// pollQuery names the topics and, when any has one, every topic's
// position (empty for those without).
func (c *client) pollQuery() string {
	q := url.Values{"topic": c.topics}
	any := false
	for _, t := range c.topics {
		epoch, seq, ok := c.chk.position(t)
		since := ""
		if ok {
			since, any = strconv.FormatUint(seq, 10), true
		}
		q.Add("epoch", epoch)
		q.Add("since", since)
	}
	if !any {
		q.Del("epoch")
		q.Del("since")
	}
	return q.Encode()
}

// isError reports whether a message is an error object.
func isError(m json.RawMessage) bool {
	var h struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(m, &h) == nil && h.Type == "error"
}
