package e2e

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// redisProc is a redis-server process a test started, on a free loopback
// port, without persistence: killed, it restarts empty, as a crashed Redis
// without persistence does.
type redisProc struct {
	t    *testing.T
	bin  string
	dir  string
	Addr string
	cmd  *exec.Cmd
	exit chan struct{} // closed once cmd has exited and was waited for
}

// startRedis starts a redis-server for the test, which kills it at the
// end. Without redis-server the test is skipped, or fails under CI=true.
func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "no redis-server: install it (apt-get install -y redis-server); the failover tests need a real one"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &redisProc{t: t, bin: bin, dir: t.TempDir(), Addr: addr}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	var err error
	for try := 0; try < 50; try++ { // the port may linger after a kill
		cmd := exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
		if err = cmd.Start(); err != nil {
			break
		}
		exit := make(chan struct{})
		go func() { // owned by kill, which waits for it
			_ = cmd.Wait()
			close(exit)
		}()
		r.cmd, r.exit = cmd, exit
		if err = r.waitReady(); err == nil {
			return
		}
		r.kill()
	}
	r.t.Fatalf("start redis-server on %s: %v", r.Addr, err)
}

// waitReady waits until the server answers PING, or it exits.
func (r *redisProc) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
	for time.Now().Before(deadline) {
		if err = ping(r.Addr); err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-r.exit:
			return err
		}
	}
	return err
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "+PONG\r\n" {
		err = strconv.ErrSyntax
	}
	return err
}

// kill kills the server (SIGKILL) and waits for it; it does nothing when
// the server is not running.
func (r *redisProc) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exit
	r.cmd = nil
}

// restart starts the server again on the same port, empty.
func (r *redisProc) restart() {
	r.t.Helper()
	r.kill()
	r.start()
}
