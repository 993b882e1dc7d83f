package mailbox

import "sync"

// queue is a FIFO for many producers and one consumer: a ring buffer, a power of
// two long, under a mutex. It allocates only when it grows, so a message costs no
// allocation in steady state. protoactor-go's own queues are internal; this one is
// the same idea without the modulo arithmetic.
type queue struct {
	mu     sync.Mutex
	buf    []any
	head   uint32 // index of the oldest item
	n      uint32 // items queued
	closed bool   // refuses every push
}

// Results of push.
const (
	pushed = iota
	full
	shut
)

// initialQueueSize is the buffer a queue gets with its first item. Small: an idle
// actor keeps it (Started went through it), and a queue grows once to what its
// traffic needs, then stays.
const initialQueueSize = 1

// push appends v, unless the queue is closed or, with limit > 0, full.
func (q *queue) push(v any, limit int) int {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return shut
	case limit > 0 && int(q.n) >= limit:
		q.mu.Unlock()
		return full
	}
	if int(q.n) == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&q.mask()] = v
	q.n++
	q.mu.Unlock()
	return pushed
}

// pop removes and returns the oldest item, or nil when the queue is empty.
func (q *queue) pop() any {
	q.mu.Lock()
	if q.n == 0 {
		q.mu.Unlock()
		return nil
	}
	v := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & q.mask()
	q.n--
	q.mu.Unlock()
	return v
}

// popIf removes and returns the oldest item if ok accepts it, and nil otherwise.
func (q *queue) popIf(ok func(any) bool) any {
	q.mu.Lock()
	if q.n == 0 || !ok(q.buf[q.head]) {
		q.mu.Unlock()
		return nil
	}
	v := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & q.mask()
	q.n--
	q.mu.Unlock()
	return v
}

// close refuses every later push and returns what was queued, oldest first.
func (q *queue) close() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	out := make([]any, q.n)
	for i := range out {
		out[i] = q.buf[(q.head+uint32(i))&q.mask()]
	}
	q.buf, q.head, q.n = nil, 0, 0
	return out
}

func (q *queue) grow() {
	size := 2 * len(q.buf)
	if size == 0 {
		size = initialQueueSize
	}
	buf := make([]any, size)
	for i := range q.n {
		buf[i] = q.buf[(q.head+i)&q.mask()]
	}
	q.buf, q.head = buf, 0
}

// mask turns a position into an index of buf, whose length is a power of two.
func (q *queue) mask() uint32 { return uint32(len(q.buf) - 1) }
