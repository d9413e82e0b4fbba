package bench

import (
	"fmt"
	"sync/atomic"
)

// pacer keeps a publisher within a window of the slowest client: the
// publications (start, stop] are cut into blocks of size seqs, and the
// publisher starts block j only once every client has received block
// j-depth whole. At most depth*size messages are then in flight to a
// client, which must stay below the server's queue bound so that nothing
// overflows: the rate measured is the highest the server sustains without
// loss.
type pacer struct {
	start, stop uint64 // the publications paced: seqs start+1 .. stop
	size        uint64 // seqs per block
	blocks      []pblock
}

type pblock struct {
	left atomic.Int64  // clients that have not received the block whole
	done chan struct{} // closed when left reaches zero
}

func newPacer(start, count, size uint64, clients int) *pacer {
	p := &pacer{start: start, stop: start + count, size: size}
	p.blocks = make([]pblock, (count+size-1)/size)
	for i := range p.blocks {
		p.blocks[i].left.Store(int64(clients))
		p.blocks[i].done = make(chan struct{})
	}
	return p
}

// end returns the last seq of block j.
func (p *pacer) end(j uint64) uint64 { return min(p.start+(j+1)*p.size, p.stop) }

// advance records that a client moved from seq a to seq b (a < b): every
// block that ends in (a, b] is complete for it.
func (p *pacer) advance(a, b uint64) {
	if a < p.start {
		panic(fmt.Sprintf("bench: a client at seq %d before the pacer's start %d", a, p.start))
	}
	for j := (a - p.start) / p.size; j < uint64(len(p.blocks)) && p.end(j) <= b; j++ {
		if p.blocks[j].left.Add(-1) == 0 {
			close(p.blocks[j].done)
		}
	}
}

// missing returns how many clients have not received block j whole.
func (p *pacer) missing(j int) int64 { return p.blocks[j].left.Load() }
