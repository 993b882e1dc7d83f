package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	qactor "github.com/quiesce/quiesce/actor"
	"github.com/quiesce/quiesce/lifecycle"
)

// ledger is the clients' account of every request they sent.
type ledger struct {
	sent     atomic.Int64
	answered atomic.Int64 // a real answer
	refused  atomic.Int64 // ERR shutting down: <reason>
	lost     atomic.Int64 // no answer before the connection closed
	byes     atomic.Int64 // connections told BYE
	conns    atomic.Int64
	bye      atomic.Value // a BYE line, for the ledger
}

// load is the demo's clients: each sends one request at a time and reads its
// answer. Once told ERR shutting down, a client sends nothing more and waits for the
// BYE; once told BYE, it reads the answer still pending, then closes.
type load struct {
	wg     sync.WaitGroup
	ledger ledger
	midway func() // called once the clients have had `half` answers
	once   sync.Once
}

func startLoad(addr string, clients, half int, midway func()) *load {
	l := &load{midway: midway}
	for i := range clients {
		l.wg.Add(1)
		go l.client(addr, uint64(i), int64(half))
	}
	return l
}

func (l *load) wait() { l.wg.Wait() }

func (l *load) client(addr string, seed uint64, half int64) {
	defer l.wg.Done()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	l.ledger.conns.Add(1)
	r := bufio.NewReader(conn)
	rng := rand.New(rand.NewPCG(seed, 7))
	for bye, refused := false, false; !bye; {
		if refused { // wait for the BYE
			line, err := readLine(r)
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "BYE") {
				l.ledger.byes.Add(1)
				l.ledger.bye.CompareAndSwap(nil, line)
				return
			}
			continue
		}
		var req string
		switch k := fmt.Sprintf("k%d", rng.IntN(50)); rng.IntN(3) {
		case 0:
			req = "GET " + k
		case 1:
			req = fmt.Sprintf("SET %s v%d", k, rng.IntN(1000))
		default:
			req = fmt.Sprintf("SLOW %d", 20+rng.IntN(200))
		}
		if _, err := fmt.Fprintln(conn, req); err != nil {
			return
		}
		l.ledger.sent.Add(1)
		for { // read until the answer; a BYE may come first
			line, err := readLine(r)
			if err != nil {
				l.ledger.lost.Add(1)
				return
			}
			if strings.HasPrefix(line, "BYE") {
				bye = true
				l.ledger.byes.Add(1)
				l.ledger.bye.CompareAndSwap(nil, line)
				continue
			}
			if strings.HasPrefix(line, "ERR shutting down") {
				l.ledger.refused.Add(1)
				refused = true
			} else if l.ledger.answered.Add(1) == half {
				l.once.Do(l.midway)
			}
			break
		}
	}
}

// printTree prints the shutdown's tree report with its sessions folded: the
// slowest in full, the others counted, since 200 sessions would be 800 lines.
func printTree(out io.Writer, t *qactor.Tree) {
	fmt.Fprintf(out, "shutdown: %v in %v\n", t.Verdict, t.Duration.Round(100_000))
	for _, root := range t.Roots {
		shown := *root
		sessions := root.Children
		if len(sessions) > 1 {
			slowest := slices.MaxFunc(sessions, func(a, b *lifecycle.Report) int { return int(a.Duration - b.Duration) })
			shown.Children = []*lifecycle.Report{slowest}
		}
		fmt.Fprint(out, shown.Tree())
		if n := len(sessions); n > 1 {
			by := map[lifecycle.Verdict]int{}
			steps := map[string]int{}
			for _, s := range sessions {
				by[s.Verdict()]++
				for _, st := range s.Steps {
					steps[st.Name+" "+st.Status.String()]++
				}
			}
			fmt.Fprintf(out, "    (the slowest of %d sessions; all of them: %s; %s)\n", n, countVerdicts(by), countSteps(steps))
		}
	}
}

func countVerdicts(by map[lifecycle.Verdict]int) string {
	var parts []string
	for _, v := range []lifecycle.Verdict{lifecycle.AllCompleted, lifecycle.SomeCutShort, lifecycle.SomeFailed, lifecycle.SomeForced, lifecycle.SomeAbandoned} {
		if by[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %v", by[v], v))
		}
	}
	return strings.Join(parts, ", ")
}

func countSteps(steps map[string]int) string {
	keys := make([]string, 0, len(steps))
	for k := range steps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, steps[k])
	}
	return strings.Join(parts, ", ")
}

func printLedger(out io.Writer, o *outcome) {
	s := o.stats
	fmt.Fprintf(out, "server: %d connections accepted, %d rejected, %d requests answered, %d refused with the reason, %d bad input, %d told BYE\n",
		s.accepted.Load(), s.rejected.Load(), s.answered.Load(), s.refused.Load(), s.badInput.Load(), s.byes.Load())
	if l := o.ledger; l != nil {
		fmt.Fprintf(out, "ledger: %d requests sent, %d answered, %d refused with a reason, %d lost\n",
			l.sent.Load(), l.answered.Load(), l.refused.Load(), l.lost.Load())
		bye, _ := l.bye.Load().(string)
		fmt.Fprintf(out, "        %d connections, %d told %q\n", l.conns.Load(), l.byes.Load(), bye)
	}
	if o.probes != nil {
		fmt.Fprintln(out, o.probes.summary())
	}
}
