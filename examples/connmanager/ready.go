package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quiesce/quiesce/lifecycle"
	"github.com/quiesce/quiesce/mailbox"
)

// readiness is the HTTP readiness endpoint, GET /ready, as a Kubernetes readiness
// probe uses it: a pod that answers anything but 2xx is taken out of its Service's
// endpoints, so new traffic stops coming while the pod drains what it has.
//
//   - While the listener runs: 200, "ready".
//   - From the moment its stop begins: 503, and the body is the listener's
//     mailbox.Snapshot as JSON: the stop's ID, reason, phase, step, elapsed time,
//     budget left, the sessions still stopping, and their drain progress added up
//     (children_progress: in-flight requests answered of those pending, with rate and
//     ETA), so that a person or a probe sees how far the drain has got.
//   - Once everything has stopped: 503 still, never 200 again, with the final
//     snapshot (phase "stopped", finished true), until the process exits. (While the
//     listener starts, before it serves: 503 and its phase.)
type readiness struct {
	url    string // http://host:port/ready
	srv    *http.Server
	served chan struct{} // closed when Serve has returned
}

func startReadiness(addr string, mb *mailbox.Mailbox) (*readiness, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("readiness endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { answerReady(w, mb) })
	r := &readiness{
		url:    "http://" + ln.Addr().String() + "/ready",
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		served: make(chan struct{}),
	}
	go func() {
		defer close(r.served)
		_ = r.srv.Serve(ln) // until close
	}()
	return r, nil
}

func answerReady(w http.ResponseWriter, mb *mailbox.Mailbox) {
	snap, stopping := mb.Snapshot()
	if !stopping && snap.Phase == lifecycle.Running {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
		return
	}
	body, err := json.Marshal(snap)
	if err != nil {
		body = fmt.Appendf(nil, `{"error":%q}`, err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(append(body, '\n'))
}

// close stops the endpoint: its listener at once, the probes it is answering
// within a second.
func (r *readiness) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		_ = r.srv.Close()
	}
	<-r.served
}

// readyStatus is the part of the 503 body that the demo and the tests read.
type readyStatus struct {
	ID               string `json:"id"`
	Actor            string `json:"actor"`
	Phase            string `json:"phase"`
	Reason           string `json:"reason"`
	Elapsed          string `json:"elapsed"`
	Finished         bool   `json:"finished"`
	Step             string `json:"step"`
	BudgetLeft       string `json:"budget_left"`
	Forced           string `json:"forced"`
	ChildrenStopping int    `json:"children_stopping"`
	Children         *struct {
		Done  int     `json:"done"`
		Total int     `json:"total"`
		Rate  float64 `json:"rate"`
		ETA   string  `json:"eta"`
	} `json:"children_progress"`
}

// probe is one readiness probe's answer.
type probe struct {
	code   int
	body   []byte
	status readyStatus // the 503 body, parsed
}

// getReady probes url once.
func getReady(ctx context.Context, c *http.Client, url string) (probe, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return probe{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return probe{}, err
	}
	defer resp.Body.Close()
	p := probe{code: resp.StatusCode}
	if p.body, err = io.ReadAll(resp.Body); err != nil {
		return p, err
	}
	if p.code == http.StatusServiceUnavailable {
		if err := json.Unmarshal(p.body, &p.status); err != nil {
			return p, fmt.Errorf("a 503 whose body is not the snapshot: %w: %s", err, p.body)
		}
	}
	return p, nil
}

// probes is the demo's readiness prober: it probes the endpoint as a kubelet would,
// every interval, from the start until stop, then once more.
type probes struct {
	url      string
	mu       sync.Mutex
	ok       int     // 200s, while serving
	first    *probe  // the first 503 whose snapshot shows the drain under way
	draining int     // 503s before the stop was over
	final    *probe  // the probe after the stop was over
	errs     []error // probes that failed, or answered out of order (200 after a 503)
	cancel   context.CancelFunc
	done     chan struct{}
}

func startProbes(url string, interval time.Duration) *probes {
	ctx, cancel := context.WithCancel(context.Background())
	p := &probes{url: url, cancel: cancel, done: make(chan struct{})}
	go p.run(ctx, interval)
	return p
}

func (p *probes) run(ctx context.Context, interval time.Duration) {
	defer close(p.done)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.record(getReady(context.Background(), c, p.url))
			return
		case <-tick.C:
			p.record(getReady(ctx, c, p.url))
		}
	}
}

func (p *probes) record(r probe, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case errors.Is(err, context.Canceled):
	case err != nil:
		p.errs = append(p.errs, err)
	case r.code == http.StatusOK:
		if p.draining > 0 || p.final != nil {
			p.errs = append(p.errs, errors.New("200 after a 503"))
		}
		p.ok++
	case r.code == http.StatusServiceUnavailable && r.status.Phase == "starting":
	case r.code == http.StatusServiceUnavailable && r.status.Finished:
		p.final = &r
	case r.code == http.StatusServiceUnavailable:
		p.draining++
		if p.first == nil && r.status.Children != nil {
			p.first = &r
		}
	default:
		p.errs = append(p.errs, fmt.Errorf("status %d", r.code))
	}
}

// stop probes once more, now that the stop is over, and waits for the prober.
func (p *probes) stop() {
	p.cancel()
	<-p.done
}

// summary says what the probes saw.
func (p *probes) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("readiness probes: %d answered 200 while serving, %d answered 503 during the drain", p.ok, p.draining)
	if p.first != nil {
		c := p.first.status.Children
		s += fmt.Sprintf(" (the first: %d/%d in-flight requests answered, %d sessions stopping)",
			c.Done, c.Total, p.first.status.ChildrenStopping)
	}
	if p.final != nil {
		s += fmt.Sprintf(", and 503 once %s", p.final.status.Phase)
	}
	if len(p.errs) > 0 {
		s += fmt.Sprintf("; %d failed: %v", len(p.errs), errors.Join(p.errs...))
	}
	return s
}
