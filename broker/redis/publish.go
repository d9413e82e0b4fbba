package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fanout-go/fanout"
	goredis "github.com/redis/go-redis/v9"
)

// bg is the context of the Broker's own Redis calls; their time is
// bounded by the client's read and write timeouts.
var bg = context.Background()

// pubReq is one Publish call on its way through the batcher.
type pubReq struct {
	ctx         context.Context
	topic       string
	data, state []byte
	flags       int
	pos         fanout.Position
	err         error
	done        chan struct{} // receives once the batcher has set pos or err
}

var reqPool = sync.Pool{New: func() any { return &pubReq{done: make(chan struct{}, 1)} }}

var flagArgs = [...]string{"0", "1", "2", "3"}

// Publish stores data as topic's next message, replaces the topic's
// snapshot with state when state is not nil (or with data when retainLast
// is set), and publishes it to every node, as one Redis script. Concurrent
// calls share pipelines.
//
// An error means the message was not stored, except when the connection
// to Redis broke while the script ran: then Redis may have stored it. ctx
// bounds only the wait before the script is sent; once sent, Publish
// waits for Redis's answer (bounded by the client's read and write
// timeouts), so that its result tells the truth.
func (b *Broker) Publish(ctx context.Context, topic string, data, state []byte, retainLast bool) (fanout.Position, error) {
	if strings.ContainsAny(topic, "{}") || topic == "" {
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, fanout.ErrInvalidTopic)
	}
	if b.opts.MaxBatch == 1 {
		return b.publishDirect(ctx, topic, data, state, retainLast)
	}
	// A lone publish goes straight to Redis, saving the hand-over to a
	// batcher; once Options.Pipelines of them are in flight, publishes
	// queue for the batchers, whose pipelines then carry many.
	if len(b.reqs) == 0 {
		if b.direct.Add(1) <= int32(b.opts.Pipelines) {
			defer b.direct.Add(-1)
			return b.publishDirect(ctx, topic, data, state, retainLast)
		}
		b.direct.Add(-1)
	}
	r := reqPool.Get().(*pubReq)
	r.ctx, r.topic, r.data, r.state, r.flags = ctx, topic, data, state, 0
	if state != nil {
		r.flags |= flagState
	}
	if retainLast {
		r.flags |= flagRetain
	}
	if err := b.submit(ctx, r); err != nil {
		r.recycle()
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, err)
	}
	<-r.done
	pos, err := r.pos, r.err
	r.recycle()
	if err != nil {
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, err)
	}
	return pos, nil
}

// publishDirect runs one publish script on the calling goroutine.
func (b *Broker) publishDirect(ctx context.Context, topic string, data, state []byte, retainLast bool) (fanout.Position, error) {
	if b.isClosed() {
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, ErrClosed)
	}
	flags := 0
	if state != nil {
		flags |= flagState
	}
	if retainLast {
		flags |= flagRetain
	}
	if err := ctx.Err(); err != nil {
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, err)
	}
	k := b.keysFor(topic)
	// Once sent, wait for the answer whatever ctx says, so that the
	// result tells whether the message was stored.
	c := publishScript.Run(context.WithoutCancel(ctx), b.client, []string{k.meta, k.hist, k.snap},
		fanout.NewEpoch(), b.ttlArg, flagArgs[flags], data, state, b.histArg, k.channel)
	pos, err := parsePosition(c)
	if err != nil {
		return fanout.Position{}, fmt.Errorf("fanout/redis: publish %q: %w", topic, err)
	}
	return pos, nil
}

func (r *pubReq) recycle() {
	*r = pubReq{done: r.done}
	reqPool.Put(r)
}

// submit queues r for the batcher.
func (b *Broker) submit(ctx context.Context, r *pubReq) error {
	b.sendMu.RLock()
	defer b.sendMu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	select {
	case b.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *pubReq) finish(pos fanout.Position, err error) {
	r.pos, r.err = pos, err
	r.done <- struct{}{}
}

// batcher sends the waiting publishes in pipelines of up to MaxBatch, one
// pipeline at a time; Options.Pipelines batchers share the requests.
func (b *Broker) batcher() {
	defer b.wg.Done()
	batch := make([]*pubReq, 0, b.opts.MaxBatch)
	cmds := make([]*goredis.Cmd, 0, b.opts.MaxBatch)
	for {
		select {
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		case <-b.stopPub:
			for {
				select {
				case r := <-b.reqs:
					r.finish(fanout.Position{}, ErrClosed)
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < b.opts.MaxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		cmds = b.run(batch, cmds[:0])
		clear(batch)
	}
}

// run executes batch as one pipeline and hands every request its result.
// Requests whose context ended while they waited are not sent.
func (b *Broker) run(batch []*pubReq, cmds []*goredis.Cmd) []*goredis.Cmd {
	epoch := fanout.NewEpoch() // for the topics that have none; one per pipeline is enough
	pipe := b.client.Pipeline()
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			cmds = append(cmds, nil)
			continue
		}
		k := b.keysFor(r.topic)
		cmds = append(cmds, publishScript.EvalSha(bg, pipe, []string{k.meta, k.hist, k.snap},
			epoch, b.ttlArg, flagArgs[r.flags], r.data, r.state, b.histArg, k.channel))
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(bg)
	}
	// Redis forgets scripts when it restarts: run those again with EVAL,
	// which also loads the script for the next pipelines.
	var retry goredis.Pipeliner
	for i, c := range cmds {
		if c != nil && isNoScript(c.Err()) {
			if retry == nil {
				retry = b.client.Pipeline()
			}
			r := batch[i]
			k := b.keysFor(r.topic)
			cmds[i] = publishScript.Eval(bg, retry, []string{k.meta, k.hist, k.snap},
				epoch, b.ttlArg, flagArgs[r.flags], r.data, r.state, b.histArg, k.channel)
		}
	}
	if retry != nil {
		_, _ = retry.Exec(bg)
	}
	for i, r := range batch {
		if cmds[i] == nil {
			r.finish(fanout.Position{}, r.ctx.Err())
			continue
		}
		r.finish(parsePosition(cmds[i]))
	}
	clear(cmds)
	return cmds
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

var errReply = errors.New("fanout/redis: unexpected reply from the publish script")

func parsePosition(c *goredis.Cmd) (fanout.Position, error) {
	v, err := c.Slice()
	if err != nil {
		return fanout.Position{}, err
	}
	if len(v) != 2 {
		return fanout.Position{}, errReply
	}
	epoch, ok1 := v[0].(string)
	seq, ok2 := v[1].(int64)
	if !ok1 || !ok2 || seq <= 0 {
		return fanout.Position{}, errReply
	}
	return fanout.Position{Epoch: epoch, Seq: uint64(seq)}, nil
}
