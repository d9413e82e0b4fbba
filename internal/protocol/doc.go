// Package protocol is the JSON wire protocol of fanout (docs/protocol.md)
// as code: the parsing of client commands, the encoding of server
// messages, and the protocol errors and their bounded echoes. The
// transports (transport/ws, transport/sse, transport/poll) import it to
// speak the protocol, and the Go client (client) to check its parser
// against the encoder. Applications use the public names of package
// transport instead: its codes, close codes and Auth hooks.
package protocol
