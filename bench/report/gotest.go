package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// A run is one go test invocation: the benchmarks of pkg matching bench, each for
// rounds rounds (-benchtime <rounds>x), with env added to the environment.
type run struct {
	pkg    string
	bench  string
	rounds int
	env    []string
}

func (r run) String() string {
	env := ""
	if len(r.env) > 0 {
		env = strings.Join(r.env, " ") + " "
	}
	return fmt.Sprintf("%sgo test -run '^$' -bench '%s' -benchtime %dx %s", env, r.bench, r.rounds, r.pkg)
}

// results are the metrics of every benchmark run, by name (without the
// -GOMAXPROCS suffix: "StopCost/N=10000") and unit.
type results map[string]map[string]float64

// exec runs r in dir, copies its output to log and to keep, and adds what it
// measured to res.
func (r run) exec(dir string, log, keep io.Writer, res results) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", r.bench,
		"-benchtime", strconv.Itoa(r.rounds)+"x", "-count", "1", "-timeout", "2h", r.pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), r.env...)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = io.MultiWriter(&out, log)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %w\n%s", r, err, out.String())
	}
	fmt.Fprintf(keep, "# %v\n%s", r, out.Bytes())
	n, err := parse(&out, res)
	if err == nil && n == 0 {
		err = fmt.Errorf("%v: no benchmark ran", r)
	}
	return err
}

// parse reads go test's benchmark output: a line per benchmark, its name, the
// iteration count, then value-unit pairs. It adds each to res and returns how many
// benchmark lines it read.
func parse(out io.Reader, res results) (int, error) {
	n := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's name on a line of its own, or its log
		}
		if len(f)%2 != 0 {
			return n, fmt.Errorf("odd benchmark line: %q", sc.Text())
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := res[name]
		if m == nil {
			m = make(map[string]float64)
			res[name] = m
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return n, fmt.Errorf("benchmark line %q: %w", sc.Text(), err)
			}
			m[f[i+1]] = v
		}
		n++
	}
	return n, sc.Err()
}
