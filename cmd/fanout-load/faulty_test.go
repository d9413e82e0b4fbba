package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// faultyServer speaks the protocol on /ws, /events and /poll but answers
// every subscription of topic "t" with the same scripted messages, which
// break the protocol as a test asks. After the script it stays silent
// until the client leaves.
type faultyServer struct {
	script []string // the messages, one JSON object each
}

func (f *faultyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ws":
		f.serveWS(w, r)
	case "/events":
		w.Header().Set("Content-Type", "text/event-stream")
		for i, m := range f.script {
			var h struct{ Type string }
			_ = json.Unmarshal([]byte(m), &h)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", i, h.Type, m)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case "/poll":
		if r.URL.Query().Has("since") { // polled again: hold until the client leaves
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "[%s]", strings.Join(f.script, ","))
	default:
		http.NotFound(w, r)
	}
}

func (f *faultyServer) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	if _, _, err := c.Read(ctx); err != nil { // the subscribe command
		return
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Join(f.script, "\n"))); err != nil {
		return
	}
	for { // until the client leaves
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

func snapshotMsg(epoch string, seq int) string {
	return fmt.Sprintf(`{"type":"snapshot","topic":"t","epoch":%q,"seq":%d,"data":null}`, epoch, seq)
}

func updateMsg(epoch string, seq int, gap bool) string {
	m := map[string]any{"type": "update", "topic": "t", "epoch": epoch, "seq": seq, "data": map[string]int{"n": seq}}
	if gap {
		m["gap"] = true
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// TestFaultyServer runs one client against a server that breaks one rule
// at a time, on every transport: the run finds the violation, and only
// it. A gap the server marks is no violation.
func TestFaultyServer(t *testing.T) {
	cases := []struct {
		name   string
		script []string
		want   Kind // -1: none
	}{
		{"gap", []string{snapshotMsg("E", 1), updateMsg("E", 2, false), updateMsg("E", 4, false)}, Gap},
		{"duplicate", []string{snapshotMsg("E", 1), updateMsg("E", 2, false), updateMsg("E", 2, false)}, Duplicate},
		{"missing snapshot", []string{updateMsg("E", 5, false), updateMsg("E", 6, false), updateMsg("E", 7, false)}, NoSnapshot},
		{"epoch change without reset", []string{snapshotMsg("E", 1), updateMsg("E", 2, false), updateMsg("F", 1, false)}, EpochChange},
		{"marked gap", []string{snapshotMsg("E", 1), updateMsg("E", 2, false), updateMsg("E", 9, true)}, ok},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := httptest.NewServer(&faultyServer{script: tc.script})
			defer hs.Close()
			for _, proto := range transports {
				cfg := testLoad(hs.URL)
				cfg.Transports, cfg.Clients, cfg.Topics = []string{proto}, 1, []string{"t"}
				// The run stops once the script has come; the duration is a
				// backstop.
				cfg.Messages, cfg.Duration = uint64(len(tc.script)), 20*time.Second
				r, err := run(context.Background(), cfg, nil)
				if err != nil {
					t.Fatalf("%s: %v", proto, err)
				}
				var want [numKinds]uint64
				if tc.want != ok {
					want[tc.want] = 1
				}
				if r.Violations != want {
					t.Errorf("%s: violations %v, want %v; %+v", proto, r.Violations, want, r.Examples)
				}
			}
		})
	}
}

// TestExitStatus runs the command line against the faulty server: a
// violation makes the status 1, and the summary and report name it.
func TestExitStatus(t *testing.T) {
	hs := httptest.NewServer(&faultyServer{script: []string{snapshotMsg("E", 1), updateMsg("E", 3, false)}})
	defer hs.Close()
	report := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr strings.Builder
	code := command(context.Background(), []string{"-url", hs.URL, "-clients", "1", "-topics", "t",
		"-messages", "2", "-duration", "20s", "-progress", "off", "-report", report}, &stdout, &stderr)
	if code != exitViolations {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitViolations, stderr.String())
	}
	if !strings.Contains(stdout.String(), "violations   1: gap 1") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "1 violations") || !strings.Contains(string(html), "not marked") {
		t.Error("the report does not show the violation")
	}

	if code := command(context.Background(), []string{"-clients", "0"}, &stdout, &stderr); code != exitError {
		t.Errorf("a bad flag: exit status %d, want %d", code, exitError)
	}

	// A server that is not there: every connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stderr.Reset()
	code = command(context.Background(), []string{"-url", "http://" + addr, "-clients", "2", "-duration", "300ms",
		"-progress", "off", "-report", ""}, io.Discard, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "no connection could be opened") {
		t.Errorf("no server: exit status %d, want %d; stderr: %s", code, exitError, stderr.String())
	}
}
