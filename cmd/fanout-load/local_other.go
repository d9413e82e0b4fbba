//go:build !linux

package main

import "syscall"

// bindNoPort does nothing on this system: the kernel picks the port at
// bind.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
