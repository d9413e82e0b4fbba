package game

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"time"
)

// FeedOptions configures a Feed. The zero value gives the defaults.
type FeedOptions struct {
	// Games is how many games are on the board at once. Zero means 6; it
	// is capped at MaxGames.
	Games int

	// Rate is how many events per second the feed sends, over all games.
	// Zero means 5.
	Rate float64

	// GlitchRate is the share of impossible events the feed sends (a
	// resent event, a goal at half time), as real feeds do, so that the
	// ingest step has something to reject. Zero means 0.02; a negative
	// value sends none.
	GlitchRate float64

	// Rest is how many of its turns a finished game stays on the board
	// before a new game replaces it. Zero means 8.
	Rest int

	// Seed seeds the simulation, for a repeatable run. Zero picks a random
	// seed.
	Seed uint64
}

func (o FeedOptions) withDefaults() FeedOptions {
	if o.Games <= 0 {
		o.Games = 6
	}
	o.Games = min(o.Games, MaxGames)
	if o.Rate <= 0 {
		o.Rate = 5
	}
	if o.GlitchRate == 0 {
		o.GlitchRate = 0.02
	}
	if o.Rest <= 0 {
		o.Rest = 8
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	return o
}

// A Feed simulates a data feed of football games: kick-offs, the clock,
// goals, cards, half and full time, sent to an Ingester as a real feed's
// events would be. Finished games make room for new ones. A Feed is not
// safe for concurrent use: one goroutine runs it.
type Feed struct {
	in   *Ingester
	opts FeedOptions
	rng  *rand.Rand
	sims []*sim
	next int // the number of the next game
}

// sim is the feed's own view of one game: the "real world" the events
// describe.
type sim struct {
	id      string
	phase   Phase
	minute  int
	lastID  int64
	last    Event  // the last event sent, for resends
	teams   [2]int // indexes in teams of the home and away sides
	players [2][]string
	booked  map[string]bool // side and player with a yellow card
	sentOff map[string]bool // side and player sent off
	rest    int
}

// NewFeed returns a feed sending events to in.
func NewFeed(in *Ingester, opts FeedOptions) *Feed {
	opts = opts.withDefaults()
	return &Feed{in: in, opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed>>1|1))}
}

// Run puts the feed's games on the board and sends events at the
// configured rate until ctx is done, then returns nil. While the hub's
// broker is down it holds the events back, as the ingester waits for the
// broker (see Ingester), and goes on when the broker is back: a broker
// outage never ends it. It returns early with an error only when the
// ingester can never publish again (the hub closed).
func (f *Feed) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Duration(float64(time.Second) / f.opts.Rate))
	defer tick.Stop()
	if err := f.start(ctx); err != nil {
		return quiet(ctx, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := f.Step(ctx); err != nil {
				return quiet(ctx, err)
			}
		}
	}
}

// quiet returns nil for an error that ctx's end caused: the feed was
// stopped, it did not fail.
func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Step advances one game by one event (Run calls it at the configured
// rate; tests call it directly). Events the ingester rejects are not
// errors: the feed sends some on purpose. The first Step puts the games
// on the board. While the broker is down, Step waits for it until ctx
// ends; the event is then not sent, and the game has not moved on.
func (f *Feed) Step(ctx context.Context) error {
	if err := f.start(ctx); err != nil {
		return err
	}
	s := f.sims[f.rng.IntN(len(f.sims))]
	if s.phase == Finished {
		if s.rest > 1 {
			s.rest--
			return nil
		}
		return f.replace(ctx, s)
	}
	if f.rng.Float64() < f.opts.GlitchRate {
		return f.send(ctx, f.glitch(s))
	}
	next := s.clone()
	ev := f.advance(next)
	if err := f.send(ctx, ev); err != nil {
		return err
	}
	next.lastID, next.last = ev.ID, ev
	*s = *next
	return nil
}

// start puts the games on the board, once all of them are.
func (f *Feed) start(ctx context.Context) error {
	for len(f.sims) < f.opts.Games {
		s := f.newSim()
		if err := f.in.AddGame(ctx, f.fixture(s, nil)); err != nil {
			f.next-- // the same game again on the next try
			return err
		}
		f.sims = append(f.sims, s)
	}
	return nil
}

// send passes ev to the ingester; a rejection is expected (and logged by
// the ingester), any other error stops the feed.
func (f *Feed) send(ctx context.Context, ev Event) error {
	err := f.in.Ingest(ctx, ev)
	var rej *RejectedError
	if err == nil || errors.As(err, &rej) {
		return nil
	}
	return err
}

// replace takes the finished game s off the board and puts a new one in
// its place, once both are stored.
func (f *Feed) replace(ctx context.Context, s *sim) error {
	if _, on := f.in.Game(s.id); on {
		if err := f.in.RemoveGame(ctx, s.id); err != nil {
			return err
		}
	}
	next := f.newSim()
	if err := f.in.AddGame(ctx, f.fixture(next, s)); err != nil {
		f.next--
		return err
	}
	*s = *next
	return nil
}

// clone returns a copy of s that advance can change without changing s.
func (s *sim) clone() *sim {
	c := *s
	c.booked = maps.Clone(s.booked)
	c.sentOff = maps.Clone(s.sentOff)
	return &c
}

func (f *Feed) newSim() *sim {
	f.next++
	s := &sim{id: fmt.Sprintf("g%d", f.next), phase: NotStarted, rest: f.opts.Rest,
		booked: make(map[string]bool), sentOff: make(map[string]bool)}
	for i := range s.players {
		s.players[i] = f.squad()
	}
	return s
}

// fixture draws two teams for s, different from each other and, while
// there are enough teams, from those playing on the board but the game s
// replaces (nil for none).
func (f *Feed) fixture(s, replaces *sim) Game {
	busy := make(map[int]bool, 2*len(f.sims))
	for _, o := range f.sims {
		if o != replaces {
			busy[o.teams[0]], busy[o.teams[1]] = true, true
		}
	}
	free := make([]int, 0, len(teams))
	for i := range teams {
		if !busy[i] {
			free = append(free, i)
		}
	}
	if len(free) < 2 { // more games than pairs of teams: anyone plays
		free = f.rng.Perm(len(teams))
	}
	f.rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	s.teams = [2]int{free[0], free[1]}
	return NewGame(s.id, teams[free[0]], teams[free[1]])
}

func (f *Feed) squad() []string {
	names := make([]string, 0, 11)
	for _, i := range f.rng.Perm(len(surnames))[:11] {
		names = append(names, surnames[i])
	}
	return names
}

// advance moves the game s on by one event.
func (f *Feed) advance(s *sim) Event {
	ev := Event{Game: s.id, ID: s.lastID + 1, Kind: Clock}
	switch s.phase {
	case NotStarted:
		ev.Kind, s.phase = KickOff, InFirstHalf
	case AtHalfTime:
		ev.Kind, s.phase, s.minute = SecondHalf, InSecondHalf, 46
	case InFirstHalf, InSecondHalf:
		end, endKind, endPhase := 45, HalfTime, AtHalfTime
		if s.phase == InSecondHalf {
			end, endKind, endPhase = 90, FullTime, Finished
		}
		if s.minute >= end {
			ev.Kind, s.phase = endKind, endPhase
			break
		}
		s.minute = min(end, s.minute+1+f.rng.IntN(3))
		f.action(s, &ev)
	}
	ev.Minute = s.minute
	return ev
}

// action makes a play event of ev now and then: a goal, a card.
func (f *Feed) action(s *sim, ev *Event) {
	r := f.rng.Float64()
	switch {
	case r < 0.07:
		ev.Kind = Goal
	case r < 0.11:
		ev.Kind = YellowCard
	case r < 0.12:
		ev.Kind = RedCard
	default:
		return
	}
	side := f.rng.IntN(2)
	player := s.players[side][f.rng.IntN(len(s.players[side]))]
	key := fmt.Sprint(side, player)
	if s.sentOff[key] { // not on the pitch any more: nothing happens
		ev.Kind = Clock
		return
	}
	ev.Side, ev.Player = [2]Side{Home, Away}[side], player
	switch {
	case ev.Kind == RedCard, ev.Kind == YellowCard && s.booked[key]:
		s.sentOff[key] = true
	case ev.Kind == YellowCard:
		s.booked[key] = true
	}
}

// glitch returns an event the ingester must reject: the last event sent
// again, or a goal while the ball is not in play.
func (f *Feed) glitch(s *sim) Event {
	if s.lastID > 0 && (s.phase == InFirstHalf || s.phase == InSecondHalf) {
		return s.last
	}
	return Event{Game: s.id, ID: s.lastID + 1, Kind: Goal, Minute: s.minute, Side: Home, Player: s.players[0][0]}
}
