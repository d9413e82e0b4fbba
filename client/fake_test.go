package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fake is a scripted server: the test accepts each connection, reads the
// client's commands and writes whatever frames it likes, including ones
// that break the protocol.
type fake struct {
	url     string
	conns   chan *fakeConn
	release chan struct{} // closed at the end of the test
}

type fakeConn struct {
	t      testing.TB
	c      *websocket.Conn
	done   chan struct{} // closed by finish: the script is over
	closed chan error    // why the connection ended, once finished
}

func newFake(t testing.TB) *fake {
	f := &fake{conns: make(chan *fakeConn, 8), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		close(f.release)
		srv.Close()
	})
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	fc := &fakeConn{c: c, done: make(chan struct{}), closed: make(chan error, 1)}
	select {
	case f.conns <- fc:
	case <-f.release:
		return
	}
	select {
	case <-fc.done:
	case <-f.release:
		return
	}
	// The script is over: read on, so that the close handshake is answered.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-f.release:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			fc.closed <- err
			return
		}
	}
}

// accept returns the next connection.
func (f *fake) accept(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case fc := <-f.conns:
		fc.t = t
		return fc
	case <-ctxT(t).Done():
		t.Fatal("no connection")
		return nil
	}
}

type fakeCommand struct {
	Action string  `json:"action"`
	Topic  string  `json:"topic"`
	Epoch  string  `json:"epoch"`
	Since  *uint64 `json:"since"`
	ID     *int64  `json:"id"`
}

func (fc *fakeConn) command() fakeCommand {
	fc.t.Helper()
	_, b, err := fc.c.Read(ctxT(fc.t))
	require.NoError(fc.t, err)
	var cmd fakeCommand
	require.NoError(fc.t, json.Unmarshal(b, &cmd), "%s", b)
	return cmd
}

func (fc *fakeConn) send(lines ...string) {
	fc.t.Helper()
	require.NoError(fc.t, fc.c.Write(ctxT(fc.t), websocket.MessageText, []byte(strings.Join(lines, "\n"))))
}

func (fc *fakeConn) finish() { close(fc.done) }

// end returns why the connection ended after finish.
func (fc *fakeConn) end() error {
	fc.t.Helper()
	select {
	case err := <-fc.closed:
		return err
	case <-ctxT(fc.t).Done():
		fc.t.Fatal("the connection did not end")
		return nil
	}
}

func TestBrokenSequenceResumes(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c := dial(t, f.url, client.Options{})
	fc := f.accept(t)
	require.NoError(t, c.Subscribe("t"))
	cmd := fc.command()
	assert.Equal(t, fakeCommand{Action: "subscribe", Topic: "t", ID: cmd.ID}, cmd)
	fc.send(
		`{"type":"snapshot","topic":"t","epoch":"E","seq":1,"data":1}`,
		`{"type":"subscribed","topic":"t","id":1}`,
		`{"type":"update","topic":"t","epoch":"E","seq":2,"data":2}`,
		`{"type":"update","topic":"t","epoch":"E","seq":2,"data":2}`,
		`{"type":"update","topic":"t","epoch":"E","seq":4,"data":4}`, // 3 is missing
	)
	fc.finish()
	assert.Equal(t, uint64(1), next(t, c).Seq)
	assert.Equal(t, uint64(2), next(t, c).Seq, "the duplicate 2 is dropped")
	assert.Equal(t, websocket.StatusProtocolError, websocket.CloseStatus(fc.end()))

	fc = f.accept(t)
	cmd = fc.command()
	since := uint64(2)
	assert.Equal(t, fakeCommand{Action: "subscribe", Topic: "t", Epoch: "E", Since: &since, ID: cmd.ID}, cmd, "resumes after 2")
	fc.send(
		`{"type":"update","topic":"t","epoch":"E","seq":2,"data":2}`,
		`{"type":"update","topic":"t","epoch":"E","seq":3,"data":3}`,
		`{"type":"update","topic":"t","epoch":"E","seq":4,"data":4}`,
		`{"type":"update","topic":"t","epoch":"X","seq":5,"data":5}`, // another epoch without a reset
	)
	fc.finish()
	for want := uint64(3); want <= 4; want++ {
		m := next(t, c)
		assert.Equal(t, client.Message{Kind: fanout.Update, Topic: "t", Epoch: "E", Seq: want, Data: m.Data}, m)
	}
	fc = f.accept(t)
	cmd = fc.command()
	since = 4
	assert.Equal(t, fakeCommand{Action: "subscribe", Topic: "t", Epoch: "E", Since: &since, ID: cmd.ID}, cmd)
	fc.send(`{"type":"reset","topic":"t","epoch":"X","seq":9,"data":null}`)
	fc.finish()
	m := next(t, c)
	assert.Equal(t, client.Message{Kind: fanout.Reset, Topic: "t", Epoch: "X", Seq: 9}, m)
}

func TestFinalCloseStops(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	st := newStates()
	c := dial(t, f.url, client.Options{OnState: st.on})
	fc := f.accept(t)
	require.NoError(t, fc.c.Close(websocket.StatusPolicyViolation, "forbidden"))
	fc.finish()
	_, err := c.Next(ctxT(t))
	require.Error(t, err)
	assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err))
	st.waitFor(t, client.Closed)
	assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(c.Subscribe("t")), "the client has ended")
}

func TestSilentConnectionIsDropped(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	st := newStates()
	c := dial(t, f.url, client.Options{OnState: st.on, IdleTimeout: 20 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	require.NoError(t, c.Subscribe("t"))
	fc := f.accept(t) // it never reads, so it never answers the client's ping
	defer fc.finish()
	st.waitFor(t, client.Disconnected)
	assert.ErrorContains(t, st.disconnects()[0], "went silent")
	fc2 := f.accept(t)
	assert.Equal(t, "t", fc2.command().Topic, "the client reconnected and subscribed again")
	fc2.finish()
}

// TestErrorsWithoutTopicAreBounded: errors that name no topic (only a
// misbehaving server sends them) take no more than QueueSize places; the
// rest are dropped, and the topics' messages still flow.
func TestErrorsWithoutTopicAreBounded(t *testing.T) {
	t.Parallel()
	const size = 4
	f := newFake(t)
	c := dial(t, f.url, client.Options{QueueSize: size})
	fc := f.accept(t)
	defer fc.finish()
	require.NoError(t, c.Subscribe("t"))
	fc.command()
	var flood []string
	for range 3 * size {
		flood = append(flood, `{"type":"error","code":"bad_request","message":"no topic"}`)
	}
	fc.send(flood...) // one frame: the client applies it at once
	for range size {
		_, err := c.Next(ctxT(t))
		var te *client.TopicError
		require.ErrorAs(t, err, &te)
		assert.Empty(t, te.Topic)
	}
	fc.send(`{"type":"snapshot","topic":"t","epoch":"E","seq":1,"data":1}`)
	m := next(t, c)
	assert.Equal(t, client.Message{Kind: fanout.Snapshot, Topic: "t", Epoch: "E", Seq: 1, Data: m.Data}, m)
}
