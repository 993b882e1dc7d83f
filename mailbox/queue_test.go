package mailbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// popAll pops q until it is empty.
func popAll(q *queue) []any {
	var out []any
	for v := q.pop(); v != nil; v = q.pop() {
		out = append(out, v)
	}
	return out
}

func ints(from, to int) []any {
	var out []any
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func TestTheQueueIsFIFOAcrossGrowth(t *testing.T) {
	tests := []struct {
		name   string
		before int // pushed and popped first, so the ring's head is not at 0 when it grows
		n      int
	}{
		{"an empty queue pops nothing", 0, 0},
		{"within the first buffer", 0, initialQueueSize},
		{"growing from a head at zero", 0, 10 * initialQueueSize},
		{"growing from a wrapped head", initialQueueSize - 1, 10 * initialQueueSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			for i := range tt.before {
				require.Equal(t, pushed, q.push(-i-1, 0))
			}
			require.Len(t, popAll(&q), tt.before)
			for i := range tt.n {
				require.Equal(t, pushed, q.push(i, 0))
			}
			assert.Equal(t, ints(0, tt.n), popAll(&q))
			assert.Nil(t, q.pop())
		})
	}
}

func TestTheQueueInterleavesPushesAndPopsInOrder(t *testing.T) {
	var q queue
	var want, got []any
	next := 0
	for round := range 20 {
		for range round%5 + 1 {
			q.push(next, 0)
			want = append(want, next)
			next++
		}
		for range round % 3 {
			if v := q.pop(); v != nil {
				got = append(got, v)
			}
		}
	}
	got = append(got, popAll(&q)...)
	assert.Equal(t, want, got)
}

func TestAPushOverTheLimitFindsTheQueueFull(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		want  []int // result of each push
		kept  int
	}{
		{"no limit takes everything", 0, []int{pushed, pushed, pushed, pushed, pushed}, 5},
		{"a limit of one takes one", 1, []int{pushed, full}, 1},
		{"a limit of three takes three", 3, []int{pushed, pushed, pushed, full, full}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			for i, w := range tt.want {
				assert.Equal(t, w, q.push(i, tt.limit), "push %d", i)
			}
			assert.Equal(t, ints(0, tt.kept), popAll(&q), "a refused push leaves the queue as it was")
		})
	}
	t.Run("a pop makes room again", func(t *testing.T) {
		var q queue
		require.Equal(t, pushed, q.push("a", 1))
		require.Equal(t, full, q.push("b", 1))
		require.Equal(t, "a", q.pop())
		assert.Equal(t, pushed, q.push("c", 1))
		assert.Equal(t, []any{"c"}, popAll(&q))
	})
	t.Run("a push with no limit ignores how full the queue is", func(t *testing.T) {
		var q queue
		require.Equal(t, pushed, q.push("a", 1))
		require.Equal(t, full, q.push("b", 1))
		assert.Equal(t, pushed, q.push("notice", 0))
		assert.Equal(t, []any{"a", "notice"}, popAll(&q))
	})
}

func TestClosingTheQueueReturnsWhatIsLeftAndShutsIt(t *testing.T) {
	tests := []struct {
		name   string
		pushed int
		popped int // then popped
		more   int // then pushed, so the leftovers may wrap around the ring
	}{
		{"an empty queue leaves nothing", 0, 0, 0},
		{"a full first buffer", initialQueueSize, 0, 0},
		{"leftovers that wrap around the ring", 4, 3, 2}, // a buffer of 4, full; then it wraps
		{"leftovers after growth", 5 * initialQueueSize, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q queue
			for i := range tt.pushed {
				q.push(i, 0)
			}
			for range tt.popped {
				q.pop()
			}
			for i := range tt.more {
				q.push(tt.pushed+i, 0)
			}
			left := q.close()
			if want := ints(tt.popped, tt.pushed+tt.more); len(want) > 0 {
				assert.Equal(t, want, left, "oldest first")
			} else {
				assert.Empty(t, left)
			}
			assert.Equal(t, shut, q.push("late", 0), "no push after close")
			assert.Equal(t, shut, q.push("late", 1), "no push after close, whatever the limit")
			assert.Nil(t, q.pop())
			assert.Empty(t, q.close(), "a second close finds nothing")
		})
	}
}
