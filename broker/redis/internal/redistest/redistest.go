// Package redistest runs a real redis-server for the tests of the Redis
// broker: a process of its own, on a free loopback port, in a temporary
// directory, without persistence.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server process that a test started. Its methods are
// called from the test goroutine; Stop and Restart fail the test that
// started the server (they need one: use Start).
type Server struct {
	// Addr is the server's address, 127.0.0.1:port. It stays the same
	// across Restart.
	Addr string

	t    testing.TB // nil after Launch
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited and was waited for
	runs int
}

// Binary returns the path of redis-server. When it is missing, it skips
// the test, or fails it when the environment variable CI is "true".
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redis-server is not installed (apt-get install -y redis-server): the Redis broker tests need a real server"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Start starts a redis-server on a free loopback port and waits until it
// answers PING. The test's cleanup kills it.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := launch(Binary(t), t.TempDir())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.t = t
	t.Cleanup(s.Kill)
	return s
}

// Launch is Start for a TestMain, which has no testing.TB: it starts a
// redis-server in dir. The caller kills it. It fails when redis-server is
// missing.
func Launch(dir string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, err
	}
	return launch(bin, dir)
}

func launch(bin, dir string) (*Server, error) {
	s := &Server{bin: bin, dir: dir}
	var err error
	for try := 0; try < 5; try++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("start redis-server: %w", err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the process and waits for PING; on failure the process is
// gone.
func (s *Server) start() error {
	s.runs++
	logPath := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.runs))
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exit = make(chan struct{})
	go func(exit chan struct{}) { // owned by Kill, which waits for it
		_ = cmd.Wait()
		close(exit)
	}(s.exit)
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Kill()
		out, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w; its log:\n%s", err, out)
	}
	return nil
}

// waitReady polls the server with PING, every 10ms, until it answers
// PONG or the time is up.
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
	for time.Now().Before(deadline) {
		if err = Ping(s.Addr); err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-s.exit:
			return fmt.Errorf("redis-server exited: %s", s.cmd.ProcessState)
		}
	}
	return fmt.Errorf("redis-server at %s does not answer PING: %w", s.Addr, err)
}

// Ping sends PING to the Redis at addr over a connection of its own and
// returns nil when it answers PONG.
func Ping(addr string) error {
	_, err := Do(addr, "PING")
	return err
}

// Do sends one inline command to the Redis at addr over a connection of
// its own, and returns the first line of the reply, or an error for an
// error reply. It spares tests a client's goroutines for admin commands
// such as FLUSHALL.
func Do(addr, command string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(command + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	if command == "PING" && line != "+PONG" {
		return "", fmt.Errorf("redis: PING answered %q", line)
	}
	return line, nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it
// to exit. Its data is lost: Restart starts empty. It does nothing when
// the server is not running.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
	_ = os.Remove(filepath.Join(s.dir, "dump.rdb"))
}

// Freeze stops the server process (SIGSTOP) without closing its
// connections: to its clients it is a server that no longer answers, as
// behind a network partition. Thaw resumes it.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil && s.t != nil {
		s.t.Fatalf("redistest: signal redis-server: %v", err)
	}
}

// Stop shuts the server down with SHUTDOWN SAVE and waits for it to exit.
// Its data is kept: Restart loads it again.
func (s *Server) Stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	if _, err := Do(s.Addr, "SHUTDOWN SAVE"); err == nil {
		s.t.Fatalf("redistest: SHUTDOWN SAVE answered instead of exiting")
	}
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("redistest: redis-server did not exit after SHUTDOWN SAVE")
	}
	s.cmd = nil
}

// Restart starts a server on the same port again and waits until it
// answers PING. After Kill it starts empty; after Stop with the data
// Stop saved; when the server still runs, Restart kills it first.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for try := 0; try < 50; try++ { // the port may linger briefly
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
}
