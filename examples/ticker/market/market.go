// Package market is the reusable part of the ticker example: a simulated
// market of instruments whose every price change is published as the
// instrument's full quote on a conflating topic (market.go), and the HTTP
// server with the page that draws them (server.go, page/index.html).
package market

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/fanout-go/fanout"
)

// IndexTopic lists the instruments; each instrument has the topic
// "ticker:<symbol>".
const IndexTopic = "ticker:index"

// QuoteTopic returns the topic of an instrument.
func QuoteTopic(sym string) string { return "ticker:" + sym }

// HistLen is how many recent prices a quote carries, for the sparkline.
const HistLen = 32

// Quote is the full state of one instrument, published on every price
// change. Every message is a whole state, which is what lets the topics
// conflate: a client that falls behind gets only the newest quote.
type Quote struct {
	Sym   string    `json:"sym"`
	Price float64   `json:"price"`
	Open  float64   `json:"open"`
	High  float64   `json:"high"`
	Low   float64   `json:"low"`
	Ticks int64     `json:"ticks"` // price changes so far
	Hist  []float64 `json:"hist"`  // the last HistLen prices, oldest first
}

// Instrument names a symbol in the index.
type Instrument struct {
	Sym  string `json:"sym"`
	Name string `json:"name"`
}

// TopicConfig is the hub's Options.TopicConfig for a market: every
// instrument topic keeps its last quote as its snapshot (RetainLast) and
// conflates for lagging subscribers (Conflate); history is short, since a
// client that missed more simply gets the latest quote.
func TopicConfig(topic string) fanout.TopicConfig {
	if strings.HasPrefix(topic, "ticker:") && topic != IndexTopic {
		return fanout.TopicConfig{RetainLast: true, Conflate: true, HistorySize: 16}
	}
	return fanout.TopicConfig{}
}

// A Market simulates the prices of its instruments with random walks and
// publishes each change. It is not safe for concurrent use: one goroutine
// runs it.
type Market struct {
	hub    *fanout.Hub
	rng    *rand.Rand
	list   []Instrument
	quotes []*Quote
	topics map[string]bool // the market's topics; read-only after New
}

// New returns a market of n instruments with made-up symbols, drawn from
// seed. The hub should have TopicConfig as its Options.TopicConfig.
func New(hub *fanout.Hub, n int, seed uint64) *Market {
	m := &Market{hub: hub, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	seen := make(map[string]bool, n)
	for len(m.list) < n {
		sym := m.symbol()
		if seen[sym] {
			continue
		}
		seen[sym] = true
		price := round(5 + m.rng.Float64()*495)
		m.list = append(m.list, Instrument{Sym: sym, Name: m.name()})
		m.quotes = append(m.quotes, &Quote{Sym: sym, Price: price, Open: price, High: price, Low: price, Hist: []float64{price}})
	}
	m.topics = map[string]bool{IndexTopic: true}
	for _, inst := range m.list {
		m.topics[QuoteTopic(inst.Sym)] = true
	}
	return m
}

// Exists reports whether topic is one of the market's: the index or an
// instrument's quotes. It is safe for concurrent use: the server passes it
// as the hub's Options.TopicExists, so that a client naming an instrument
// that does not exist is answered not_found and the hub holds nothing for
// it.
func (m *Market) Exists(topic string) bool { return m.topics[topic] }

// PublishAll publishes the index and every instrument's quote.
func (m *Market) PublishAll() error {
	idx, err := json.Marshal(struct {
		Instruments []Instrument `json:"instruments"`
	}{m.list})
	if err != nil {
		return err
	}
	if _, err := m.hub.PublishState(IndexTopic, idx, idx); err != nil {
		return err
	}
	for _, q := range m.quotes {
		if err := m.publish(q); err != nil {
			return err
		}
	}
	return nil
}

// tickInterval is how often the market moves prices; each tick moves
// rate/20 of them.
const tickInterval = 50 * time.Millisecond

// Run publishes the market, then about rate price changes per second
// until ctx is done (returning nil) or publishing fails.
func (m *Market) Run(ctx context.Context, rate float64) error {
	if err := m.PublishAll(); err != nil {
		return err
	}
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	per := rate * tickInterval.Seconds()
	carry := 0.0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			carry += per
			n := int(carry)
			carry -= float64(n)
			if err := m.Step(n); err != nil {
				return err
			}
		}
	}
}

// Step changes n prices, publishing each change.
func (m *Market) Step(n int) error {
	for range n {
		q := m.quotes[m.rng.IntN(len(m.quotes))]
		// A geometric random walk with a little pull back to the open.
		drift := 0.02 * math.Log(q.Open/q.Price)
		p := round(q.Price * math.Exp(0.004*m.rng.NormFloat64()+0.004*drift))
		if p == q.Price {
			p = round(q.Price + 0.01*float64(1-2*m.rng.IntN(2)))
		}
		p = max(p, 0.01)
		q.Price = p
		q.High, q.Low = max(q.High, p), min(q.Low, p)
		q.Ticks++
		if len(q.Hist) == HistLen {
			copy(q.Hist, q.Hist[1:])
			q.Hist = q.Hist[:HistLen-1]
		}
		q.Hist = append(q.Hist, p)
		if err := m.publish(q); err != nil {
			return err
		}
	}
	return nil
}

// Instruments returns the market's instruments.
func (m *Market) Instruments() []Instrument { return slices.Clone(m.list) }

// Quotes returns copies of the current quotes, in the order of
// Instruments.
func (m *Market) Quotes() []Quote {
	qs := make([]Quote, len(m.quotes))
	for i, q := range m.quotes {
		qs[i] = *q
		qs[i].Hist = slices.Clone(q.Hist)
	}
	return qs
}

func (m *Market) publish(q *Quote) error {
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	if _, err := m.hub.Publish(QuoteTopic(q.Sym), b); err != nil {
		return fmt.Errorf("publish %s: %w", q.Sym, err)
	}
	return nil
}

func round(p float64) float64 { return math.Round(p*100) / 100 }

func (m *Market) symbol() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 3+m.rng.IntN(2))
	for i := range b {
		b[i] = letters[m.rng.IntN(len(letters))]
	}
	return string(b)
}

var (
	nameHeads = []string{"North", "Blue", "Silver", "Iron", "Bright", "Pacific", "Summit", "Cedar", "Delta", "Nova", "Harbor", "Atlas", "Granite", "Maple", "Orion", "Vertex"}
	nameTails = []string{"Energy", "Systems", "Holdings", "Foods", "Logistics", "Pharma", "Mining", "Networks", "Retail", "Motors", "Capital", "Robotics", "Water", "Media", "Labs", "Freight"}
)

func (m *Market) name() string {
	return nameHeads[m.rng.IntN(len(nameHeads))] + " " + nameTails[m.rng.IntN(len(nameTails))]
}
