package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// child is a child process running one test of the test binary (see
// startChild), which talks to its parent in lines: commands on its stdin,
// answers on its stdout, each answer a line that starts with a word the
// parent looks for. Everything else it writes (the -test.v output, a
// failure) is kept for the parent's errors.
type child struct {
	test   string // the test it runs
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	output strings.Builder // what the child wrote besides the lines read
	once   sync.Once
	err    error
}

// startChild runs the test binary's test named test in a child process
// with env added to its environment, its stdin and stdout piped to the
// returned child. The process is killed if ctx ends first.
func startChild(ctx context.Context, test string, env ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.bench=^$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", test, err)
	}
	return &child{test: test, cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}, nil
}

// send writes one command line to the child.
func (c *child) send(format string, args ...any) error {
	if _, err := fmt.Fprintf(c.stdin, format+"\n", args...); err != nil {
		return fmt.Errorf("tell %s: %w", c.test, err)
	}
	return nil
}

// readLine reads the child's output until a line that is word or starts
// with word and a space, and returns the rest of that line.
func (c *child) readLine(word string) (string, error) {
	for c.lines.Scan() {
		line := c.lines.Text()
		if rest, ok := strings.CutPrefix(line, word); ok && (rest == "" || rest[0] == ' ') {
			return strings.TrimSpace(rest), nil
		}
		c.output.WriteString(line + "\n")
	}
	out := c.output.String()
	c.output.Reset() // reported here, not again by stop
	return "", fmt.Errorf("%s ended without a %q line:\n%s", c.test, word, out)
}

// waitReady reads the child's output until its ready line (idleReady).
func (c *child) waitReady() error {
	_, err := c.readLine(idleReady)
	return err
}

// end tells the child to end, by closing its stdin, without waiting:
// several children told first and stopped after end at the same time.
func (c *child) end() { _ = c.stdin.Close() } // a second Close fails, harmlessly

// stop tells the child to end and waits for it to exit. It is idempotent.
func (c *child) stop() error {
	c.once.Do(func() {
		c.end()
		for c.lines.Scan() {
			c.output.WriteString(c.lines.Text() + "\n")
		}
		if err := c.cmd.Wait(); err != nil {
			c.err = fmt.Errorf("%s: %w:\n%s", c.test, err, c.output.String())
		}
	})
	return c.err
}
