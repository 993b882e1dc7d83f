// Command report measures Quiesce against its baselines and writes the figures
// under docs/perf: a markdown table of every figure with its baseline, ratio,
// target and whether it was met (README.md), and SVG plots of what a stop costs
// per child (stop-per-child.svg, stop-per-child-cpu.svg, stop-kinds.svg).
//
//	go run ./bench/report          # a few minutes on 2 cores
//	go run ./bench/report -quick   # fewer rounds, for a look
//	go run ./bench/report -1m      # also 1M children (several more minutes, GiBs)
//
// It runs the benchmarks of bench/ and policy/ with go test, one go test per
// benchmark (and per StopCost size), each for a fixed number of rounds
// (-benchtime Nx), and reads their output. A separate process per benchmark gives
// each one a fresh heap (a 100k-actor benchmark does not leave its garbage to the
// next), lets every benchmark stay a plain go test benchmark beside the code it
// measures (the policy ones in package policy), and lets each be rerun by hand
// with the command the report prints. Every ratio is taken by the benchmark
// itself within one round of a loop that alternates baseline and subject, but
// target 4's (per child at N against 10k), which compares the medians of the two
// N's runs; the report only reads and judges.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "fewer rounds, for a fast look (under a minute)")
	with1M := flag.Bool("1m", false, "also stop a parent with 1M children")
	out := flag.String("out", "docs/perf", "where to write, relative to the module root")
	verbose := flag.Bool("v", false, "print go test's output as it runs")
	from := flag.String("from", "", "run nothing: write the figures from the bench.txt of an earlier run")
	flag.Parse()
	if err := report(*quick, *with1M, *out, *verbose, *from); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// plan returns the go test runs: the rounds are odd, so that a median is a round's.
func plan(quick, with1M bool) ([]run, []int) {
	r := func(full, fast int) int {
		if quick {
			return fast
		}
		return full
	}
	ns1 := []int{1_000, 10_000, 100_000}
	runs := []run{
		{pkg: "./bench", bench: "^BenchmarkStopCost$/^N=1000$", rounds: r(31, 5)},
		{pkg: "./bench", bench: "^BenchmarkStopCost$/^N=10000$", rounds: r(21, 5)},
		{pkg: "./bench", bench: "^BenchmarkStopCost$/^N=100000$", rounds: r(7, 3)},
	}
	if with1M {
		ns1 = append(ns1, 1_000_000)
		runs = append(runs, run{pkg: "./bench", bench: "^BenchmarkStopCost$/^N=1000000$", rounds: r(3, 1), env: []string{"QUIESCE_BENCH_1M=1"}})
	}
	runs = append(runs,
		run{pkg: "./bench", bench: "^BenchmarkShutdownTree$", rounds: r(7, 3)},
		run{pkg: "./bench", bench: "^BenchmarkMessages$", rounds: r(21, 11)},
		run{pkg: "./bench", bench: "^BenchmarkIdleHeap$", rounds: r(9, 3)},
		run{pkg: "./bench", bench: "^BenchmarkCancelLatency$", rounds: r(9, 3)},
		run{pkg: "./bench", bench: "^BenchmarkNoticeLatency$", rounds: r(9, 3)},
		run{pkg: "./policy", bench: "^BenchmarkPolicy$", rounds: r(31, 11)},
	)
	return runs, ns1
}

// meta is what the report says of a run besides its figures; bench.txt keeps it
// on its first line, for -from.
type meta struct {
	Quick, With1M bool
	Start         time.Time
	Took          time.Duration
	CPU, Go, Code string
	Load          [2]string // the load average, at the start and at the end
	Cores, Procs  int
	Commands      []string
}

const metaPrefix = "# quiesce report: "

func report(quick, with1M bool, out string, verbose bool, from string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir := out
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res := results{}
	var m meta
	if from != "" {
		if m, err = load(from, res); err != nil {
			return err
		}
		if err := keepBenchTxt(from, dir); err != nil {
			return err
		}
	} else {
		if m, err = measure(root, quick, with1M, verbose, res, dir); err != nil {
			return err
		}
	}
	_, ns1 := plan(m.Quick, m.With1M)
	l := &lookup{res: res}
	var md bytes.Buffer
	writeMarkdown(&md, l, ns1, m)
	if len(l.missing) > 0 {
		return fmt.Errorf("the benchmarks did not report: %s", strings.Join(l.missing, ", "))
	}
	if err := plots(l, ns1, dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", dir)
	return nil
}

// measure runs the plan, adds what it measured to res, and writes go test's
// output, under a first line with the run's meta, to dir/bench.txt (benchstat
// reads it as it is).
func measure(root string, quick, with1M, verbose bool, res results, dir string) (meta, error) {
	m := meta{Quick: quick, With1M: with1M, Start: time.Now(), CPU: cpuModel(), Go: goVersion(root),
		Code: commit(root), Cores: runtime.NumCPU(), Procs: runtime.GOMAXPROCS(0)}
	m.Load[0] = loadAverage()
	runs, _ := plan(quick, with1M)
	log := io.Discard
	if verbose {
		log = os.Stderr
	}
	var keep bytes.Buffer
	for i, r := range runs {
		fmt.Fprintf(os.Stderr, "[%d/%d] %v\n", i+1, len(runs), r)
		t0 := time.Now()
		if err := r.exec(root, log, &keep, res); err != nil {
			return m, err
		}
		fmt.Fprintf(os.Stderr, "        %v\n", time.Since(t0).Round(time.Second))
		m.Commands = append(m.Commands, r.String())
	}
	m.Took = time.Since(m.Start).Round(time.Second)
	m.Load[1] = loadAverage()
	head, err := json.Marshal(m)
	if err != nil {
		return m, err
	}
	out := append([]byte(metaPrefix+string(head)+"\n"), keep.Bytes()...)
	return m, os.WriteFile(filepath.Join(dir, "bench.txt"), out, 0o644)
}

// keepBenchTxt copies from to dir/bench.txt, unless it is that file: the page links it.
func keepBenchTxt(from, dir string) error {
	to := filepath.Join(dir, "bench.txt")
	a, errA := filepath.Abs(from)
	z, errZ := filepath.Abs(to)
	if errA == nil && errZ == nil && a == z {
		return nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// load reads a bench.txt that measure wrote.
func load(file string, res results) (meta, error) {
	var m meta
	b, err := os.ReadFile(file)
	if err != nil {
		return m, err
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	if !bytes.HasPrefix(first, []byte(metaPrefix)) {
		return m, fmt.Errorf("%s: not written by this report (no %q line)", file, strings.TrimSpace(metaPrefix))
	}
	if err := json.Unmarshal(first[len(metaPrefix):], &m); err != nil {
		return m, fmt.Errorf("%s: %w", file, err)
	}
	_, err = parse(bytes.NewReader(b), res)
	return m, err
}

func writeMarkdown(w io.Writer, l *lookup, ns1 []int, m meta) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Performance: Quiesce against its baselines\n\n")
	p("Written by `go run ./bench/report")
	if m.Quick {
		p(" -quick")
	}
	if m.With1M {
		p(" -1m")
	}
	p("` on %s; the run took %v. Its raw output is [bench.txt](bench.txt)\n", m.Start.UTC().Format("2006-01-02 15:04 MST"), m.Took)
	p("(`go run ./bench/report -from docs/perf/bench.txt` writes this page and the plots from it again).\n\n")
	p("| machine | |\n|---|---|\n")
	p("| CPU | %s |\n| cores | %d (GOMAXPROCS %d) |\n| Go | %s |\n| code | %s |\n", m.CPU, m.Cores, m.Procs, m.Go, m.Code)
	p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n\n", m.Load[0], m.Load[1])
	p("Every ratio but target 4's is taken by its benchmark within one round of one loop that measures the baseline\n")
	p("and the subject in turn (the order rotates each round, after a discarded warm-up round), and\n")
	p("is the median over the rounds, with the smallest and the largest in brackets. Absolute figures\n")
	p("are medians over the same rounds, for scale. Target 4 (per child at N against 10k) compares\n")
	p("the medians of two runs, one per N, since each N runs in a process of its own.\n")
	p("The host is shared and noisy: read the ratios.\n")
	p("A target is judged on the median; a stop's on its wall time, with its CPU time beside it (on a\n")
	p("loaded host wall time also counts the waits for a core, and a stop with more handoffs between\n")
	p("goroutines waits more). Every round checks what its stop promised (every actor\n")
	p("stopped, every step ran, a completed report per child), so a broken stop fails the run.\n\n")
	p("## Targets (issue 9)\n\n%s\n", table(targets(l, ns1, m.With1M)))
	p("## Other figures\n\n%s\n", table(others(l)))
	p("## Stop cost per child\n\n")
	p("`BenchmarkStopCost`: a parent with N children, stopped whole; the parent has the same plan as\n")
	p("its children. raw and the hand-written peer are stopped with `StopFuture`, Quiesce with\n")
	p("`qactor.Stop`. The hand-written peer (`bench/byhand_test.go`) runs the same three steps in a\n")
	p("protoactor `Stopping` handler, the deferred two each on a goroutine shielded with\n")
	p("`context.WithoutCancel` and a select, and gives no report, notice or count.\n\n")
	p("%s\n", costTable(l, ns1))
	p("![wall time per child against N](stop-per-child.svg)\n\n")
	p("CPU time (the process's, user and system, over the stop) is what a loaded host inflates least:\n\n")
	p("![CPU time per child against N](stop-per-child-cpu.svg)\n\n")
	p("![each kind against raw and the hand-written peer](stop-kinds.svg)\n\n")
	p("## How it was measured\n\n")
	p("One `go test` per benchmark (`-benchtime Nx` is the number of rounds):\n\n```sh\n")
	for _, c := range m.Commands {
		p("%s\n", c)
	}
	p("```\n")
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module: run from the quiesce module")
	}
	return filepath.Dir(mod), nil
}

// loadAverage is the host's load average, from /proc/loadavg: other work on a
// 2-core host inflates wall times, so the page says how busy it was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown (" + runtime.GOARCH + ")"
}

// goVersion is the version of the go command that ran the benchmarks.
func goVersion(root string) string {
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		return strings.TrimSpace(string(out)) + ", " + runtime.GOOS + "/" + runtime.GOARCH
	}
	return runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH
}

// commit names the measured code: HEAD, and whether the work tree differs from it.
func commit(root string) string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	c := strings.TrimSpace(string(out))
	cmd = exec.Command("git", "status", "--porcelain", "--untracked-files=no")
	cmd.Dir = root
	if st, err := cmd.Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += " with uncommitted changes"
	}
	return c
}
