package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	fanoutserve "github.com/fanout-go/fanout/transport/serve"
)

func TestParseLocal(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		out := make([]netip.Addr, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParseAddr(s)
		}
		return out
	}
	tests := []struct {
		in      string
		want    []netip.Addr
		n       int // when want is nil: how many
		wantErr string
	}{
		{in: "", want: nil},
		{in: "127.0.0.2", want: addrs("127.0.0.2")},
		{in: " 127.0.0.2, 127.0.0.3,", want: addrs("127.0.0.2", "127.0.0.3")},
		{in: "::ffff:127.0.0.2,::1", want: addrs("127.0.0.2", "::1")},
		{in: "127.0.1.0/30", want: addrs("127.0.1.1", "127.0.1.2")},                           // not the network, not broadcast
		{in: "127.0.1.9/30", want: addrs("127.0.1.9", "127.0.1.10")},                          // host bits dropped
		{in: "127.0.1.6/31,127.0.1.9/32", want: addrs("127.0.1.6", "127.0.1.7", "127.0.1.9")}, // point to point, one host
		{in: "fd00::/126", want: addrs("fd00::1", "fd00::2", "fd00::3")},                      // not the subnet-router anycast
		{in: "127.0.1.0/28", n: 14},
		{in: "127.0.0.0/20", n: 4094},
		{in: "localhost", wantErr: `-local "localhost": not an IP address`},
		{in: "127.0.0.2,127.0.0.300", wantErr: `-local "127.0.0.300": not an IP address`},
		{in: "127.0.0.0/33", wantErr: `-local "127.0.0.0/33": not a CIDR range`},
		{in: "127.0.0.0/19", wantErr: `-local "127.0.0.0/19": 8190 host addresses, at most 4096`},
		{in: "127.0.0.0/8", wantErr: `-local "127.0.0.0/8": 2^24 addresses, at most 4096`},
		{in: "::/0", wantErr: `-local "::/0": 2^128 addresses`},
		{in: "127.0.0.0/20,127.1.0.0/20", wantErr: "-local: more than 4096 addresses in all"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLocal(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("%v, want %v", got, tt.want)
			}
			if tt.want == nil && len(got) != tt.n {
				t.Errorf("%d addresses, want %d", len(got), tt.n)
			}
		})
	}
}

// TestLocal runs clients of every transport, a half of them cut and
// resumed, from two loopback addresses: the server sees both on every
// transport and no other, and the run is clean. (On Linux all of
// 127.0.0.0/8 is local.)
func TestLocal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 and 127.0.0.3 are local addresses on Linux only")
	}
	var (
		mu      sync.Mutex
		sources = map[string]map[string]bool{} // path → the source addresses of its requests
	)
	url := startServeWith(t, serveConfig{Rate: 40, Topics: 6, Pattern: "load:%d", Size: 128}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			mu.Lock()
			if sources[r.URL.Path] == nil {
				sources[r.URL.Path] = map[string]bool{}
			}
			sources[r.URL.Path][host] = true
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	})

	cfg := testLoad(url)
	cfg.Transports, cfg.Cut = transports, 0.5
	cfg.Topics, cfg.PerClient = patternTopics("load:%d", 6), 2
	var err error
	if cfg.Local, err = parseLocal("127.0.0.2,127.0.0.3"); err != nil {
		t.Fatal(err)
	}
	r, err := run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertClean(t, r)
	if r.Started != cfg.Clients || r.Updates == 0 || r.Cuts == 0 || r.Resumes == 0 {
		t.Errorf("started %d, %d updates, %d cuts, %d topics resumed", r.Started, r.Updates, r.Cuts, r.Resumes)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/ws", "/events", "/poll"} {
		if got := sources[path]; len(got) != 2 || !got["127.0.0.2"] || !got["127.0.0.3"] {
			t.Errorf("%s: requests from %v, want 127.0.0.2 and 127.0.0.3", path, got)
		}
	}
	var sb strings.Builder
	if err := writeSummary(&sb, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "(ws, sse, poll) from 2 local addresses") {
		t.Errorf("summary:\n%s", sb.String())
	}
}

// startServeWith runs the server fanout-load serve runs, its handlers
// wrapped by wrap, on a free loopback port until the test ends, and
// returns its base URL.
func startServeWith(t *testing.T, cfg serveConfig, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hub := fanout.NewHub(fanout.Options{})
	set := fanoutserve.New(hub, fanoutserve.Options{})
	mux := http.NewServeMux()
	set.Mount(mux, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- fanoutserve.Run(ctx, ln, fanoutserve.NewServer(wrap(mux)), set, fanoutserve.RunOptions{
			ShutdownTimeout: 2 * time.Second,
			Work: func(ctx context.Context) error {
				publish(ctx, hub, cfg)
				return ctx.Err()
			},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := hub.Close(); err != nil {
			t.Errorf("hub: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
