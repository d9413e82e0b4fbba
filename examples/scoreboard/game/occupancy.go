package game

import (
	"strings"

	"github.com/fanout-go/fanout"
)

// TopicConfig is the hub's Options.TopicConfig for a scoreboard: every
// game's topic pushes its subscriber count (fanout.TopicConfig.Occupancy),
// which the page shows as "N watching", counted over every gateway that
// shares the hub's broker. The index does not need it.
func TopicConfig(topic string) fanout.TopicConfig {
	if strings.HasPrefix(topic, Topic("")) && topic != IndexTopic {
		return fanout.TopicConfig{Occupancy: true}
	}
	return fanout.TopicConfig{}
}
