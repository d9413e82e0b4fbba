package main

import (
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/64 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d, below bucketOf of a smaller value (%d)", us, b, prev)
		}
		prev = b
		if low, high := bucketLow(b), bucketLow(b+1); us < low || us >= high {
			t.Fatalf("%d µs in bucket %d of [%d, %d)", us, b, low, high)
		}
		if low := bucketLow(b); us >= 32 && float64(bucketLow(b+1)-low)/float64(low) > 1.0/16+1e-9 {
			t.Fatalf("bucket %d is wider than 1/16 of its value", b)
		}
	}
	if b := bucketOf(1 << 62); b != numBuckets-1 {
		t.Errorf("a huge value lands in bucket %d, want the last", b)
	}
}

func TestQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	h.record(-time.Second) // clocks apart: counted as zero
	c := h.snapshot()
	if c.total() != 1001 {
		t.Fatalf("total %d", c.total())
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, 1000 * time.Millisecond}} {
		got := c.quantile(tt.q)
		if got < tt.want || float64(got) > float64(tt.want)*(1+1.0/16) {
			t.Errorf("quantile(%g) = %v, want %v within a bucket", tt.q, got, tt.want)
		}
	}
	if (&counts{}).quantile(0.5) != 0 || (&counts{}).max() != 0 {
		t.Error("an empty histogram has latencies")
	}
	d := h.snapshot().sub(c)
	if d.total() != 0 {
		t.Errorf("nothing recorded in between, got %d", d.total())
	}
}

func TestPublishTime(t *testing.T) {
	now := time.Unix(0, 1764600000123456789)
	for _, tt := range []struct {
		data string
		ok   bool
	}{
		{string(payload(nil, now, 7, 128)), true},
		{`{"score":"1-0","ts":1764600000123456789}`, true},
		{`{"ts": 1764600000123456789 , "x":1}`, true},
		{`{"score":"1-0"}`, false},
		{`null`, false},
		{`{"ts":"soon"}`, false},
		{`{"nested":{"ts":1}}`, false},
	} {
		got, ok := publishTime([]byte(tt.data))
		if ok != tt.ok || ok && !got.Equal(now) {
			t.Errorf("publishTime(%s) = %v, %v; want ok %v", tt.data, got, ok, tt.ok)
		}
	}
	if p := payload(nil, now, 1, 128); len(p) != 128 {
		t.Errorf("payload of %d bytes, want 128: %s", len(p), p)
	}
}
