package main

import (
	"flag"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParseLoad(t *testing.T) {
	tests := []struct {
		args    []string
		topics  []string
		wantErr string
	}{
		{args: nil, topics: []string{"load:1"}},
		{args: []string{"-topic-pattern", "game:%d", "-topic-count", "3"}, topics: []string{"game:1", "game:2", "game:3"}},
		{args: []string{"-topics", "a, b,,c"}, topics: []string{"a", "b", "c"}},
		{args: []string{"-topic-pattern", "lobby"}, topics: []string{"lobby"}},
		{args: []string{"-transport", "ws,smoke"}, wantErr: `-transport "smoke"`},
		{args: []string{"-url", "ws://x"}, wantErr: "-url"},
		{args: []string{"-clients", "0", "-ramp", "0"}, wantErr: "-ramp"},
		{args: []string{"-topics", "a,b", "-per-client", "3"}, wantErr: "-per-client"},
		{args: []string{"-dist", "zipf", "-zipf-s", "1"}, wantErr: "-zipf-s"},
		{args: []string{"-cut", "1.5"}, wantErr: "-cut"},
		{args: []string{"-progress", "fancy"}, wantErr: "-progress"},
		{args: []string{"-local", "127.0.0.2,localhost"}, wantErr: `-local "localhost"`},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg, err := parseLoad(tt.args, fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Topics, tt.topics) {
				t.Errorf("topics %q, want %q", cfg.Topics, tt.topics)
			}
			if cfg.Seed == 0 {
				t.Error("no seed drawn")
			}
		})
	}
}

func TestParseServe(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseServe([]string{"-size", "10", "-rate", "0"}, fs); err == nil ||
		!strings.Contains(err.Error(), "-size") || !strings.Contains(err.Error(), "-rate") {
		t.Errorf("err %v, want -size and -rate named", err)
	}
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, err := parseServe([]string{"-topics", "5", "-size", "256"}, fs)
	if err != nil || cfg.Topics != 5 || cfg.Size != 256 || cfg.Rate != 4 {
		t.Errorf("%+v, %v", cfg, err)
	}
}

// TestChooseTopics checks that clients get distinct topics, and that
// the zipf law favours the first topics over the last.
func TestChooseTopics(t *testing.T) {
	all := patternTopics("t:%d", 100)
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for _, dist := range []string{"uniform", "zipf"} {
		clear(counts)
		for range 2000 {
			got := chooseTopics(rng, all, 3, dist, 1.2)
			if len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
				t.Fatalf("%s: %q, want 3 distinct topics", dist, got)
			}
			for _, topic := range got {
				counts[topic]++
			}
		}
		first, last := counts["t:1"], counts["t:100"]
		switch {
		case dist == "zipf" && first <= 10*max(last, 1):
			t.Errorf("zipf: the first topic chosen %d times, the last %d", first, last)
		case dist == "uniform" && (first == 0 || last == 0):
			t.Errorf("uniform: the first topic chosen %d times, the last %d", first, last)
		}
	}
	if got := chooseTopics(rng, all[:2], 5, "uniform", 0); !slices.Equal(got, all[:2]) {
		t.Errorf("more asked than there are: %q", got)
	}
}
