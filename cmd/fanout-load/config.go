package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// loadConfig is the command line of a load run.
type loadConfig struct {
	URL        string   // the server's base URL, http:// or https://
	WSPath     string   // the WebSocket handler's path
	SSEPath    string   // the SSE handler's path
	PollPath   string   // the long-poll handler's path
	Insecure   bool     // accept any TLS certificate (a test server's own)
	Transports []string // ws, sse, poll: clients take them in turn

	// Local are the addresses to dial from, client i from Local[i mod
	// len(Local)], for every connection it opens. Empty: the system's
	// choice, as without -local.
	Local []netip.Addr

	Clients  int           // connections to open
	Ramp     float64       // connections opened per second
	Duration time.Duration // how long all connections stay after the ramp
	Messages uint64        // stop after receiving this many messages in all; 0: no limit

	Topics    []string // the topics to choose from
	PerClient int      // topics each client subscribes to
	Dist      string   // how clients choose topics: uniform or zipf
	ZipfS     float64  // the zipf exponent, above 1

	Cut          float64 // the share of connections cut once at a random moment, then resumed
	StrictResume bool    // a resume answered with a reset is a violation
	Seed         uint64  // seeds the choice of topics and cuts

	Interval time.Duration // between samples (progress and charts)
	Report   string        // the HTML report's file; empty: none
	Progress string        // auto, bar, lines or off
	CPUProf  string        // a CPU profile of the load generator; empty: none
}

// transports are the names -transport accepts.
var transports = []string{"ws", "sse", "poll"}

// parseLoad parses the arguments of a load run.
func parseLoad(args []string, fs *flag.FlagSet) (loadConfig, error) {
	var (
		cfg                    loadConfig
		topicList, transportsF string
		local                  string
		pattern                string
		count                  int
	)
	fs.StringVar(&cfg.URL, "url", "http://localhost:8080", "the fanout server's base URL")
	fs.StringVar(&cfg.WSPath, "ws-path", "/ws", "the path of the WebSocket handler")
	fs.StringVar(&cfg.SSEPath, "sse-path", "/events", "the path of the Server-Sent Events handler")
	fs.StringVar(&cfg.PollPath, "poll-path", "/poll", "the path of the long-poll handler")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "with https, accept any certificate (a test server's self-signed one)")
	fs.StringVar(&transportsF, "transport", "ws", "transports, comma-separated (ws, sse, poll): clients take them in turn")
	fs.StringVar(&local, "local", "", "local IP addresses to dial from, comma-separated, each an IP or a CIDR range (127.0.1.0/28): clients take them in turn")
	fs.IntVar(&cfg.Clients, "clients", 100, "connections to open")
	fs.Float64Var(&cfg.Ramp, "ramp", 500, "connections opened per second")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to hold all connections after the ramp")
	fs.Uint64Var(&cfg.Messages, "messages", 0, "stop after receiving this many messages in all (0: no limit)")
	fs.StringVar(&topicList, "topics", "", "topics to choose from, comma-separated (instead of -topic-pattern)")
	fs.StringVar(&pattern, "topic-pattern", "load:%d", "topic names, %d running from 1 to -topic-count")
	fs.IntVar(&count, "topic-count", 1, "how many topics -topic-pattern names")
	fs.IntVar(&cfg.PerClient, "per-client", 1, "topics each client subscribes to")
	fs.StringVar(&cfg.Dist, "dist", "uniform", "how clients choose their topics: uniform or zipf (the first topics most)")
	fs.Float64Var(&cfg.ZipfS, "zipf-s", 1.1, "the exponent of -dist zipf, above 1")
	fs.Float64Var(&cfg.Cut, "cut", 0, "share of connections (0 to 1) cut once at a random moment, then resumed and checked")
	fs.BoolVar(&cfg.StrictResume, "strict-resume", true, "count a resume answered with a reset as a violation")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the choice of topics and cuts (0: random)")
	fs.DurationVar(&cfg.Interval, "interval", time.Second, "time between samples of the progress line and the charts")
	fs.StringVar(&cfg.Report, "report", "fanout-load.html", "the HTML report to write (empty: none)")
	fs.StringVar(&cfg.CPUProf, "cpuprofile", "", "write a CPU profile of fanout-load itself to this file (is the load generator the bottleneck?)")
	fs.StringVar(&cfg.Progress, "progress", "auto", "live progress: auto (a bar on a terminal, else lines), bar, lines or off")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Transports = splitList(transportsF)
	if topicList != "" {
		cfg.Topics = splitList(topicList)
	} else {
		cfg.Topics = patternTopics(pattern, count)
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	var localErr error
	cfg.Local, localErr = parseLocal(local)
	return cfg, errors.Join(localErr, cfg.validate())
}

// validate checks the configuration's values.
func (c *loadConfig) validate() error {
	u, err := url.Parse(c.URL)
	var errs []error
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("-url %q: want http://host:port or https://host:port", c.URL))
	}
	if len(c.Transports) == 0 {
		errs = append(errs, errors.New("-transport: name at least one"))
	}
	for _, t := range c.Transports {
		if !slices.Contains(transports, t) {
			errs = append(errs, fmt.Errorf("-transport %q: want ws, sse or poll", t))
		}
	}
	if len(c.Local) > maxLocal {
		errs = append(errs, fmt.Errorf("-local: more than %d addresses in all", maxLocal))
	}
	if c.Clients < 1 {
		errs = append(errs, errors.New("-clients: at least 1"))
	}
	if !(c.Ramp > 0) {
		errs = append(errs, errors.New("-ramp: above 0"))
	}
	if c.Duration < 0 {
		errs = append(errs, errors.New("-duration: not negative"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("no topics: give -topics or -topic-pattern and -topic-count"))
	}
	if c.PerClient < 1 || c.PerClient > len(c.Topics) {
		errs = append(errs, fmt.Errorf("-per-client: 1 to the number of topics (%d)", len(c.Topics)))
	}
	if c.Dist != "uniform" && c.Dist != "zipf" {
		errs = append(errs, fmt.Errorf("-dist %q: want uniform or zipf", c.Dist))
	}
	if c.Dist == "zipf" && !(c.ZipfS > 1) {
		errs = append(errs, errors.New("-zipf-s: above 1"))
	}
	if !(c.Cut >= 0 && c.Cut <= 1) {
		errs = append(errs, errors.New("-cut: 0 to 1"))
	}
	if c.Interval <= 0 {
		errs = append(errs, errors.New("-interval: above 0"))
	}
	if !slices.Contains([]string{"auto", "bar", "lines", "off"}, c.Progress) {
		errs = append(errs, fmt.Errorf("-progress %q: want auto, bar, lines or off", c.Progress))
	}
	return errors.Join(errs...)
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// patternTopics returns the topics pattern names for 1 to n (one topic,
// the pattern itself, when it has no verb).
func patternTopics(pattern string, n int) []string {
	if !strings.Contains(pattern, "%") {
		return []string{pattern}
	}
	topics := make([]string, 0, max(n, 0))
	for i := 1; i <= n; i++ {
		topics = append(topics, fmt.Sprintf(pattern, i))
	}
	return topics
}

// chooseTopics draws k distinct topics from all, uniformly or by a Zipf
// law that favours the first ones.
func chooseTopics(rng *rand.Rand, all []string, k int, dist string, s float64) []string {
	if k >= len(all) {
		return slices.Clone(all)
	}
	var draw func() int
	if dist == "zipf" {
		z := rand.NewZipf(rng, s, 1, uint64(len(all)-1))
		draw = func() int { return int(z.Uint64()) }
	} else {
		draw = func() int { return rng.IntN(len(all)) }
	}
	chosen := make(map[int]bool, k)
	for tries := 0; len(chosen) < k && tries < 100*k; tries++ {
		chosen[draw()] = true
	}
	for i := 0; len(chosen) < k; i++ { // a skewed law may not reach k: fill in order
		chosen[i] = true
	}
	out := make([]string, 0, k)
	for i := range all {
		if chosen[i] {
			out = append(out, all[i])
		}
	}
	return out
}
