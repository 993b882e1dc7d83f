package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The protocol: one request per line, one answer per request.
//
//	GET key          VALUE <value> | NOTFOUND
//	SET key value    OK
//	SLOW ms          DONE, after ms milliseconds (at most 10 s): a request that takes time
//	QUIT             BYE quit, then the server closes
//
// Errors are answers too: ERR unknown command, ERR line too long, ERR shutting down:
// <reason>, ERR too many connections. Before it closes a connection, the server says
// BYE <reason>, even when its stop is forced; every request it read before is
// answered before the BYE, on the wire. A request the drain could not wait for is
// told how the drain ended, in the report's words: ERR shutting down: timed out (the
// drain's budget ran out), ERR shutting down: forced (a second signal, the grace
// period). After the BYE the server still answers (ERR shutting down) whatever the
// client sent before it read the BYE, until the client closes.

// request is a line a session's reader hands to its actor.
type request struct{ line string }

// reply is the actor's answer to a request.
type reply struct {
	text string
	quit bool // the client said QUIT
}

const maxSlow = 10 * time.Second

var errTooLong = errors.New("line too long")

// answer computes the reply to one request against store. A SLOW request's reply
// comes later: answer returns its delay instead.
func answer(s *store, line string) (r reply, slow time.Duration) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return reply{text: "ERR unknown command"}, 0
	}
	switch cmd := strings.ToUpper(fields[0]); {
	case cmd == "GET" && len(fields) == 2:
		if v, ok := s.get(fields[1]); ok {
			return reply{text: "VALUE " + v}, 0
		}
		return reply{text: "NOTFOUND"}, 0
	case cmd == "SET" && len(fields) == 3:
		s.set(fields[1], fields[2])
		return reply{text: "OK"}, 0
	case cmd == "SLOW" && len(fields) == 2:
		ms, err := strconv.Atoi(fields[1])
		if err != nil || ms < 0 {
			return reply{text: "ERR unknown command"}, 0
		}
		return reply{text: "DONE"}, min(time.Duration(ms)*time.Millisecond, maxSlow)
	case cmd == "QUIT" && len(fields) == 1:
		return reply{text: "BYE quit", quit: true}, 0
	}
	return reply{text: "ERR unknown command"}, 0
}

// readLine reads one line of at most r's buffer size. A longer line is skipped to
// its end and reported as errTooLong, so the next line reads cleanly.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errTooLong
	}
	if err != nil {
		return "", err // a partial line before EOF or a deadline is no request
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// lineWriter writes whole lines to a connection from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) writeLine(format string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := fmt.Fprintf(l.w, format+"\n", args...)
	return err
}

// store is the server's key-value state, shared by every session.
type store struct {
	mu sync.RWMutex
	m  map[string]string
}

func (s *store) get(k string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[k]
	return v, ok
}

func (s *store) set(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
}

func (s *store) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}
