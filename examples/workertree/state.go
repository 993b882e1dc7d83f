package main

// The state file is how one run hands its work to the next: the jobs still to do,
// and a record of every job done so far, with the run that did it. A job is in
// exactly one of the two lists, so a person (or a test) can check that no job was
// lost and none was done twice, across as many runs as it takes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Job is a unit of work: Units steps of simulated work, each cfg.unit long.
type Job struct {
	ID    int `json:"id"`
	Units int `json:"units"`
	// Attempts counts the attempts that panicked. Whether the next attempt panics,
	// and where, depends only on the batch's seed, the job and this count (see
	// crashAt), so a batch panics the same number of times however runs are cut.
	Attempts int `json:"attempts"`
}

// DoneRecord says which run finished a job, and which worker.
type DoneRecord struct {
	ID  int    `json:"id"`
	Run int    `json:"run"`
	By  string `json:"by"`
}

// State is the state file's content: one batch of jobs, as the last run left it.
type State struct {
	Version int          `json:"version"`
	Seed    uint64       `json:"seed"`  // the batch's seed: job sizes and panics
	Crash   float64      `json:"crash"` // the chance that an attempt panics
	Jobs    int          `json:"jobs"`  // the batch's size; IDs are 0 to Jobs-1
	Runs    int          `json:"runs"`  // runs so far
	Pending []Job        `json:"pending"`
	Done    []DoneRecord `json:"done"`
}

const stateVersion = 1

// errBadState matches every error about a state file that exists but cannot be
// used: unreadable, not JSON, or not a consistent batch.
var errBadState = errors.New("unusable state file")

// newBatch makes a batch of n jobs of 1 to 6 units each.
func newBatch(seed uint64, n int, crash float64) *State {
	r := rand.New(rand.NewPCG(seed, 0))
	st := &State{Version: stateVersion, Seed: seed, Crash: crash, Jobs: n, Pending: make([]Job, n)}
	for i := range st.Pending {
		st.Pending[i] = Job{ID: i, Units: 1 + r.IntN(6)}
	}
	return st
}

// crashAt says whether this attempt at job panics, and before which unit.
func crashAt(st *State, job Job) (unit int, ok bool) {
	r := rand.New(rand.NewPCG(st.Seed, uint64(job.ID)<<16|uint64(job.Attempts)+1))
	if r.Float64() >= st.Crash {
		return 0, false
	}
	return r.IntN(job.Units), true
}

// loadState reads the state file at path. A missing file is no error: it returns
// nil, and the run starts a new batch. Anything else that stops the file from
// being read and trusted is an error that names the file and says what to do.
func loadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	bad := func(err error) error {
		return fmt.Errorf("%w %s: %w (fix or remove it, or run with -fresh to start a new batch)", errBadState, path, err)
	}
	if err != nil {
		return nil, bad(err)
	}
	// Unknown fields are an error: a file from another program, or another version,
	// should stop the run rather than be half understood.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, bad(fmt.Errorf("not a state file: %w", err))
	}
	if err := st.check(); err != nil {
		return nil, bad(err)
	}
	return &st, nil
}

// check rejects a state that would make a run lose or repeat a job.
func (st *State) check() error {
	switch {
	case st.Version != stateVersion:
		return fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	case st.Jobs <= 0:
		return fmt.Errorf("%d jobs in the batch", st.Jobs)
	case st.Crash < 0 || st.Crash >= 1:
		return fmt.Errorf("crash rate %v is not in [0, 1)", st.Crash)
	}
	seen := make(map[int]string, st.Jobs)
	use := func(id int, where string) error {
		if id < 0 || id >= st.Jobs {
			return fmt.Errorf("job %d (%s) is not in the batch of %d", id, where, st.Jobs)
		}
		if before, ok := seen[id]; ok {
			return fmt.Errorf("job %d is both %s and %s", id, before, where)
		}
		seen[id] = where
		return nil
	}
	for _, j := range st.Pending {
		if err := use(j.ID, "pending"); err != nil {
			return err
		}
		if j.Units <= 0 || j.Attempts < 0 {
			return fmt.Errorf("job %d: %d units, %d attempts", j.ID, j.Units, j.Attempts)
		}
	}
	for _, d := range st.Done {
		if err := use(d.ID, "done"); err != nil {
			return err
		}
	}
	return nil
}

// saveState writes st to path atomically: to a temporary file in the same
// directory, then renamed over the old one. A run killed halfway through leaves
// the previous state whole, never a torn file.
func saveState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
