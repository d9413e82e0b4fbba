package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A server child's commands, one a line on its stdin, and the lines it
// answers with (see TestQuietServer).
const (
	quietSettle    = "settle"          // n: wait until the server holds n connections
	quietPublish   = "publish"         // a schedule: publish on it
	quietCostCmd   = "cost"            // measure the server
	quietURL       = "quiet-url"       // the URL clients dial
	quietSettled   = "quiet-settled"   // answers settle
	quietPublished = "quiet-published" // answers publish: the last seq, how late in ns
	quietCostLine  = "quiet-cost"      // answers cost: a quietServerCost
)

// startQuietServer starts a server child running impl's server for
// transport.
func startQuietServer(ctx context.Context, impl, transport string) (*child, error) {
	return startChild(ctx, "TestQuietServer",
		envQuietImpl+"="+impl, envQuietTransport+"="+transport,
		envQuietBase+"="+strconv.FormatInt(clockBase.UnixNano(), 10))
}

// quietServerCost is what one server child measured.
type quietServerCost struct {
	cpu        time.Duration // user and system, from publish to cost
	bytes      int64         // growth of the live heap and stacks, after two GCs
	goroutines int64         // growth of the goroutines
}

func (c quietServerCost) String() string {
	return fmt.Sprintf("%d %d %d", c.cpu, c.bytes, c.goroutines)
}

func (c *quietServerCost) parse(s string) error {
	var cpu int64
	if _, err := fmt.Sscanf(s, "%d %d %d", &cpu, &c.bytes, &c.goroutines); err != nil {
		return fmt.Errorf("%s line %q: %w", quietCostLine, s, err)
	}
	c.cpu = time.Duration(cpu)
	return nil
}

// TestQuietServer is the server side of BenchmarkQuietConnections: with
// FANOUT_BENCH_QUIET_IMPL set it starts that implementation's server for
// FANOUT_BENCH_QUIET_TRANSPORT, reads its state, writes the URL line
// (quiet-url), and follows its parent's commands:
//
//	settle n    waits until the server holds n connections and its
//	            goroutines stop moving (settle); answers quiet-settled
//	publish s   notes the process's CPU time and publishes on schedule s
//	            (publishQuietly); answers quiet-published, the last seq
//	            and how late it was published
//	cost        answers quiet-cost and the CPU time used since publish
//	            began, then the growth of the live heap and stacks and of
//	            the goroutines since the start (readState)
//
// The parent sends cost once the clients have every message. The child
// closes the server when its stdin closes, giving up what it was doing.
// Without the variable it is skipped.
func TestQuietServer(t *testing.T) {
	impl := os.Getenv(envQuietImpl)
	if impl == "" {
		t.Skip("the server side of BenchmarkQuietConnections; it runs as a child process")
	}
	transport := os.Getenv(envQuietTransport)
	setQuietClock(t)
	padding = bytes.Repeat([]byte("x"), quietPayload-len(`{"t":1000000000000,"p":""}`)) // for this process's life
	ctx, cmds := readCommands(os.Stdin)
	srv := newServer(impl, transport)
	defer srv.close()
	before := readState()
	fmt.Println(quietURL, srv.url(transport))

	var cpu time.Duration
	for line := range cmds {
		cmd, arg, _ := strings.Cut(line, " ")
		var answer string
		var err error
		switch cmd {
		case quietSettle:
			var n int
			if n, err = strconv.Atoi(arg); err == nil {
				err = settle(ctx, srv, n)
			}
			answer = quietSettled
		case quietPublish:
			var sched schedule
			var last uint64
			var behind time.Duration
			if sched, err = parseSchedule(arg); err == nil {
				cpu = processCPU()
				last, behind, err = publishQuietly(ctx, srv, sched)
			}
			answer = fmt.Sprint(quietPublished, " ", last, " ", int64(behind))
		case quietCostCmd:
			c := quietServerCost{cpu: processCPU() - cpu}
			after := readState()
			c.bytes = int64(after.heap+after.stack) - int64(before.heap+before.stack)
			c.goroutines = int64(after.goroutines - before.goroutines)
			answer = fmt.Sprint(quietCostLine, " ", c)
		default:
			err = fmt.Errorf("unknown command %q", line)
		}
		if ctx.Err() != nil {
			return // the parent gave up
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(answer)
	}
}

// readCommands reads r's lines, in a goroutine that ends at the end of r,
// into cmds, which it then closes. It cancels ctx there too, so that a
// parent that closes the child's stdin stops what the child is doing.
// The parent sends a few commands and waits for each answer: the channel
// holds more than it sends.
func readCommands(r io.Reader) (ctx context.Context, cmds <-chan string) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan string, 16)
	go func() {
		defer close(ch)
		defer cancel()
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			ch <- lines.Text()
		}
	}()
	return ctx, ch
}

// schedule is when a server publishes: count messages, one every every.
type schedule struct {
	count int
	every time.Duration
}

// quietSchedule is rate messages a second for d.
func quietSchedule(rate float64, d time.Duration) schedule {
	return schedule{count: max(int(rate*d.Seconds()), 1), every: time.Duration(float64(time.Second) / rate)}
}

// length is how long the schedule takes, kept.
func (s schedule) length() time.Duration { return time.Duration(s.count) * s.every }

func (s schedule) String() string { return fmt.Sprintf("%d %s", s.count, s.every) }

func parseSchedule(text string) (schedule, error) {
	var s schedule
	var every string
	if _, err := fmt.Sscanf(text, "%d %s", &s.count, &every); err != nil {
		return s, fmt.Errorf("schedule %q: %w", text, err)
	}
	var err error
	s.every, err = time.ParseDuration(every)
	return s, err
}

// publishQuietly publishes on schedule s: message i (from 1) at i×every
// from now, or at once when that moment has passed, so that a server that
// falls behind still publishes every message. It returns the last
// sequence number and how late the last message was published.
func publishQuietly(ctx context.Context, srv *server, s schedule) (last uint64, behind time.Duration, err error) {
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := 1; i <= s.count; i++ {
		at := start.Add(time.Duration(i) * s.every)
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return last, 0, ctx.Err()
			case <-timer.C:
			}
		}
		last, behind = uint64(i), max(time.Since(at), 0)
		if err := srv.publish(last, nanotime()); err != nil {
			return last, 0, err
		}
	}
	return last, behind, nil
}
