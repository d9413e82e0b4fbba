package redis_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"go.uber.org/goleak"
)

// exampleAddr is the redis-server that the examples use; TestMain starts
// it.
var exampleAddr string

func TestMain(m *testing.M) { goleak.VerifyTestMain(withServer{m}) }

// withServer runs the tests with a redis-server for the examples, and
// stops it before goleak looks for leftover goroutines.
type withServer struct{ m *testing.M }

func (w withServer) Run() int {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := redistest.Launch(dir)
	if err != nil {
		msg := "redis-server is not installed (apt-get install -y redis-server): the Redis broker tests need a real server"
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "FAIL: %s: %v\n", msg, err)
			return 1
		}
		fmt.Printf("skipping every test: %s: %v\n", msg, err)
		return 0
	}
	defer srv.Kill()
	exampleAddr = srv.Addr
	return w.m.Run()
}
