package game

import (
	"strconv"
	"strings"
)

// topicPrefix starts the topic of every game: see Topic.
const topicPrefix = "game-updates:"

// Exists reports whether topic is one the ingester publishes: the index,
// or the topic of a game on the board. A server whose ingester runs in the
// same process passes it as the hub's Options.TopicExists, so that a
// client naming a game that does not exist is answered not_found and the
// hub holds nothing for it.
func (in *Ingester) Exists(topic string) bool {
	if topic == IndexTopic {
		return true
	}
	id, ok := strings.CutPrefix(topic, topicPrefix)
	if !ok {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	_, ok = in.games[id]
	return ok
}

// WellFormed reports whether topic can be one a Feed publishes: the
// index, or game-updates:g<n>. A gateway whose games another process
// publishes (through a broker) cannot know which games exist; it passes
// WellFormed as the hub's Options.TopicExists to refuse names that no feed
// can publish, and leaves the rest to Options.MaxUnpublishedTopics.
func WellFormed(topic string) bool {
	if topic == IndexTopic {
		return true
	}
	id, ok := strings.CutPrefix(topic, topicPrefix+"g")
	if !ok || id == "" || id[0] == '0' {
		return false
	}
	_, err := strconv.ParseUint(id, 10, 32)
	return err == nil
}
