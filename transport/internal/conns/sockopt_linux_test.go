package conns_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// TestSetSendBuffer caps a TCP connection's SO_SNDBUF (Linux reports
// twice the value set).
func TestSetSendBuffer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s, err := ln.Accept()
	require.NoError(t, err)
	defer s.Close()

	conns.SetSendBuffer(s, 64<<10)
	rc, err := s.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var size int
	require.NoError(t, rc.Control(func(fd uintptr) {
		size, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	}))
	require.NoError(t, err)
	assert.Equal(t, 128<<10, size)
}
