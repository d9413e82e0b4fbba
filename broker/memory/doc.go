// Package memory is an in-process fanout.Broker: several hubs in one
// process share one Broker, each through its own Conn, as gateway nodes
// share a Redis or NATS server. Tests and examples import it to run many
// nodes without a server; its hooks (Broker.Flush, Broker.SetDown,
// Conn.DropNext) simulate a broker losing its data, an outage and lost
// publications, so that an application can test how it rides them out.
//
// Production deployments use a real broker (the broker/redis and
// broker/nats modules) instead; a single node needs no broker at all.
package memory
