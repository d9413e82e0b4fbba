// Package game is the reusable part of the scoreboard example: the state of
// a football game and the rules an event must follow (game.go), the ingest
// step that validates events and publishes them on a fanout hub
// (ingest.go), a simulated feed of events (feed.go), and the HTTP server
// with the page (server.go, page/index.html).
//
// Copy it as the starting point of a live page: replace the feed with
// your own source, the rules and state with your domain's, and keep the
// shape: one topic per entity, published with fanout.Hub.PublishState so
// that a joining or reconnecting client gets the full state at once and
// then the updates.
package game

import (
	"fmt"
	"slices"
	"strings"
)

// Phase is the stage a game is in.
type Phase string

// The phases of a game, in order.
const (
	NotStarted   Phase = "scheduled"
	InFirstHalf  Phase = "first_half"
	AtHalfTime   Phase = "half_time"
	InSecondHalf Phase = "second_half"
	Finished     Phase = "full_time"
)

// Kind is the kind of an event.
type Kind string

// The kinds of events a feed reports.
const (
	KickOff    Kind = "kick_off"    // starts the first half, at minute 0
	Clock      Kind = "clock"       // the game clock moved on
	Goal       Kind = "goal"        // Side scored; Player scored it
	YellowCard Kind = "yellow_card" // Player of Side was booked; a second one sends off
	RedCard    Kind = "red_card"    // Player of Side was sent off
	HalfTime   Kind = "half_time"   // the first half ended, from minute 45
	SecondHalf Kind = "second_half" // the second half started
	FullTime   Kind = "full_time"   // the game ended, from minute 90
)

// Side is one of the two teams of a game.
type Side string

// The sides of a game.
const (
	Home Side = "home"
	Away Side = "away"
)

// Limits of the rules.
const (
	// MaxMinute is the latest minute an event may carry (90 plus stoppage
	// and a margin).
	MaxMinute = 130
	// MaxTimeline is how many goals and cards a Game keeps in Events.
	MaxTimeline = 10
)

// Event is one thing that happened in a game, as a feed reports it.
type Event struct {
	Game   string `json:"game"`             // the game's id
	ID     int64  `json:"id"`               // the feed's id of the event, increasing per game
	Kind   Kind   `json:"kind"`             // what happened
	Minute int    `json:"minute"`           // the game clock
	Side   Side   `json:"side,omitempty"`   // the team, for goals and cards
	Player string `json:"player,omitempty"` // the player, for goals and cards
}

// Team is one side of a game and its tallies.
type Team struct {
	Name   string `json:"name"`
	Short  string `json:"short"` // a three-letter code
	Color  string `json:"color"` // a CSS colour for the badge
	Score  int    `json:"score"`
	Yellow int    `json:"yellow"`
	Red    int    `json:"red"`
}

// Game is the full state of one game: what a client needs to draw it, and
// what the scoreboard publishes as the topic's snapshot.
type Game struct {
	ID     string  `json:"id"`
	Home   Team    `json:"home"`
	Away   Team    `json:"away"`
	Phase  Phase   `json:"phase"`
	Minute int     `json:"minute"`
	Events []Event `json:"events"` // the latest goals and cards, oldest first, at most MaxTimeline

	lastID  int64           // the id of the last event applied
	booked  map[string]bool // side/player with a yellow card
	sentOff map[string]bool // side/player sent off
}

// Update is what the scoreboard publishes for one applied event: the event
// and the numbers it may have changed, so that a client applies it without
// recomputing the rules.
type Update struct {
	Event  Event `json:"event"`
	Phase  Phase `json:"phase"`
	Minute int   `json:"minute"`
	Home   Tally `json:"home"`
	Away   Tally `json:"away"`
}

// Tally is a team's numbers in an Update.
type Tally struct {
	Score  int `json:"score"`
	Yellow int `json:"yellow"`
	Red    int `json:"red"`
}

// RejectedError reports an event that cannot happen to the game in its
// current state. The game is unchanged.
type RejectedError struct {
	Event  Event
	Reason string
}

// Error says which event was rejected and why.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("scoreboard: event %d (%s at %d') of game %q rejected: %s",
		e.Event.ID, e.Event.Kind, e.Event.Minute, e.Event.Game, e.Reason)
}

// NewGame returns a scheduled game between home and away, scores and
// cards zeroed.
func NewGame(id string, home, away Team) Game {
	home.Score, home.Yellow, home.Red = 0, 0, 0
	away.Score, away.Yellow, away.Red = 0, 0, 0
	return Game{ID: id, Home: home, Away: away, Phase: NotStarted, Events: []Event{}}
}

// Clone returns a deep copy of g.
func (g Game) Clone() Game {
	g.Events = slices.Clone(g.Events)
	if g.Events == nil {
		g.Events = []Event{}
	}
	g.booked = cloneSet(g.booked)
	g.sentOff = cloneSet(g.sentOff)
	return g
}

func cloneSet(m map[string]bool) map[string]bool {
	if m == nil {
		return nil
	}
	c := make(map[string]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Apply checks that ev can happen to g now and applies it, returning the
// Update to publish. An impossible event (a duplicate, one older than the
// game clock, a goal at half time, a card for a player already sent off,
// ...) is rejected with a *RejectedError and leaves g unchanged.
func (g *Game) Apply(ev Event) (Update, error) {
	if reason := g.check(ev); reason != "" {
		return Update{}, &RejectedError{Event: ev, Reason: reason}
	}
	g.lastID = ev.ID
	g.Minute = ev.Minute
	switch ev.Kind {
	case KickOff:
		g.Phase = InFirstHalf
	case HalfTime:
		g.Phase = AtHalfTime
	case SecondHalf:
		g.Phase = InSecondHalf
	case FullTime:
		g.Phase = Finished
	case Goal:
		g.team(ev.Side).Score++
		g.remember(ev)
	case YellowCard:
		key := string(ev.Side) + "/" + ev.Player
		g.team(ev.Side).Yellow++
		if g.booked[key] { // a second yellow sends off
			g.sendOff(key, ev.Side)
		} else {
			g.booked = setKey(g.booked, key)
		}
		g.remember(ev)
	case RedCard:
		g.sendOff(string(ev.Side)+"/"+ev.Player, ev.Side)
		g.remember(ev)
	}
	return g.update(ev), nil
}

// update returns the Update that tells a client about ev and g's numbers
// after it.
func (g *Game) update(ev Event) Update {
	return Update{
		Event:  ev,
		Phase:  g.Phase,
		Minute: g.Minute,
		Home:   Tally{g.Home.Score, g.Home.Yellow, g.Home.Red},
		Away:   Tally{g.Away.Score, g.Away.Yellow, g.Away.Red},
	}
}

// check returns why ev cannot happen to g, or "" when it can.
func (g *Game) check(ev Event) string {
	switch {
	case ev.Game != g.ID:
		return fmt.Sprintf("it belongs to game %q", ev.Game)
	case ev.ID <= g.lastID:
		return fmt.Sprintf("duplicate or out of order: the last event applied was %d", g.lastID)
	case ev.Minute < g.Minute:
		return fmt.Sprintf("minute %d is before the game clock (%d')", ev.Minute, g.Minute)
	case ev.Minute > MaxMinute:
		return fmt.Sprintf("minute %d is past the end of any game", ev.Minute)
	}
	switch ev.Kind {
	case KickOff:
		return g.need(ev, NotStarted, 0, "kick-off")
	case HalfTime:
		return g.need(ev, InFirstHalf, 45, "half time")
	case SecondHalf:
		return g.need(ev, AtHalfTime, 45, "the second half")
	case FullTime:
		return g.need(ev, InSecondHalf, 90, "full time")
	case Clock:
		return g.inPlay()
	case Goal, YellowCard, RedCard:
		if r := g.inPlay(); r != "" {
			return r
		}
		if ev.Side != Home && ev.Side != Away {
			return fmt.Sprintf("side %q is neither %q nor %q", ev.Side, Home, Away)
		}
		if ev.Player == "" {
			return "it names no player"
		}
		if g.sentOff[string(ev.Side)+"/"+ev.Player] {
			return fmt.Sprintf("%s was sent off earlier", ev.Player)
		}
		return ""
	}
	return fmt.Sprintf("unknown kind %q", ev.Kind)
}

// need checks a phase change: the game must be in phase from and the
// clock at least minute.
func (g *Game) need(ev Event, from Phase, minute int, what string) string {
	if g.Phase != from {
		return fmt.Sprintf("%s cannot happen when the game is %s", what, phaseText(g.Phase))
	}
	if ev.Minute < minute {
		return fmt.Sprintf("%s cannot happen before minute %d", what, minute)
	}
	return ""
}

func (g *Game) inPlay() string {
	if g.Phase != InFirstHalf && g.Phase != InSecondHalf {
		return fmt.Sprintf("the ball is not in play: the game is %s", phaseText(g.Phase))
	}
	return ""
}

func phaseText(p Phase) string {
	switch p {
	case NotStarted:
		return "not started"
	case AtHalfTime:
		return "at half time"
	case Finished:
		return "over"
	}
	return "in the " + strings.ReplaceAll(string(p), "_", " ")
}

func (g *Game) team(s Side) *Team {
	if s == Home {
		return &g.Home
	}
	return &g.Away
}

func (g *Game) sendOff(key string, s Side) {
	g.team(s).Red++
	g.sentOff = setKey(g.sentOff, key)
}

func setKey(m map[string]bool, key string) map[string]bool {
	if m == nil {
		m = make(map[string]bool)
	}
	m[key] = true
	return m
}

// remember adds ev to the timeline, forgetting the oldest beyond
// MaxTimeline.
func (g *Game) remember(ev Event) {
	if len(g.Events) >= MaxTimeline {
		g.Events = slices.Delete(g.Events, 0, len(g.Events)-MaxTimeline+1)
	}
	g.Events = append(g.Events, ev)
}
