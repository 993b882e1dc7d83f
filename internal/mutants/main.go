// Command mutants is Quiesce's mutation pass: it breaks one promise of the
// implementation at a time and checks that some test notices.
//
//	go run ./internal/mutants                 # every mutant
//	go run ./internal/mutants -run 'restart'  # the mutants whose name matches
//	go run ./internal/mutants -list           # the table, and a check that it is not stale
//	go run ./internal/mutants -equivalent     # also run the mutants argued equivalent
//
// The table (table.go) holds each mutant: the file, an exact snippet of it, what
// replaces the snippet, and the promise that the change breaks. For each mutant, in
// a scratch copy of the module (the working tree is never touched):
//
//  1. Each snippet must occur exactly once in its file. One that does not is stale
//     (the code moved on) or ambiguous: an error, so that the table cannot rot
//     silently.
//  2. The snippets are replaced and the tests run, one package at a time, with
//     go test -race -count=1 -timeout 120s: first the mutated package, then every
//     package whose tests depend on it. The first package that fails kills the
//     mutant; a mutant that does not build is an error in the table.
//  3. The files are restored before the next mutant.
//
// A mutant that no test kills survives. A mutant whose entry explains why it
// cannot change behaviour (equivalent) is only checked for staleness, not run
// (-equivalent runs it: a kill then proves the argument wrong). The command exits
// non-zero if any mutant survived, is stale, or does not build.
//
// It is not run by CI: a full pass of the 52 mutants takes about 6 minutes on 2
// cores. A killed mutant takes 1 to 10 s (a build and the first failing package),
// or 25 to 55 s when the tests that kill it wait out their 10 s bounds; the first
// mutant also builds the scratch copy. A survivor runs every dependent package,
// about 20 s.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// edit replaces old, which must occur exactly once in file, with replacement.
type edit struct {
	file        string // relative to the module root
	old         string
	replacement string
}

// mutant is one deliberate fault.
type mutant struct {
	name    string // short, unique: what -run matches
	promise string // the promise it breaks, in the words of the docs
	edits   []edit
	// equivalent, when set, says why the mutant cannot change behaviour: it is
	// checked for staleness and not run.
	equivalent string
}

// one is a mutant of a single edit.
func one(name, promise, file, old, replacement string) mutant {
	return mutant{name: name, promise: promise, edits: []edit{{file, old, replacement}}}
}

type verdict int

const (
	killed verdict = iota
	survived
	stale
	invalid
	equivalent
)

func (v verdict) String() string {
	return [...]string{"killed", "SURVIVED", "STALE", "INVALID", "equivalent"}[v]
}

type result struct {
	m       *mutant
	verdict verdict
	detail  string // who killed it, or what is wrong with it
	took    time.Duration
}

func main() {
	var (
		run     = flag.String("run", "", "run only the mutants whose name matches this regexp")
		list    = flag.Bool("list", false, "print the table and check it for staleness; run nothing")
		verbose = flag.Bool("v", false, "print the test output of every mutant that survives or does not build")
		timeout = flag.Duration("timeout", 120*time.Second, "go test -timeout, per package")
		equiv   = flag.Bool("equivalent", false, "also run the mutants argued equivalent, to check the argument")
	)
	flag.Parse()
	runEquivalent = *equiv
	if err := mainErr(*run, *list, *verbose, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

// runEquivalent says to run the mutants argued equivalent too (-equivalent).
var runEquivalent bool

func mainErr(pattern string, listOnly, verbose bool, timeout time.Duration) error {
	match, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	if err := checkNames(); err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	var chosen []*mutant
	for i := range table {
		if match.MatchString(table[i].name) {
			chosen = append(chosen, &table[i])
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("no mutant matches %q", pattern)
	}
	if listOnly {
		return listTable(root, chosen)
	}

	scratch, err := os.MkdirTemp("", "quiesce-mutants-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	if err := copyModule(root, scratch); err != nil {
		return err
	}
	deps, err := testDependents(scratch)
	if err != nil {
		return err
	}
	fmt.Printf("%d mutants, in a scratch copy of %s\n\n", len(chosen), root)

	start := time.Now()
	var results []result
	for i, m := range chosen {
		fmt.Printf("[%2d/%d] %-40s ", i+1, len(chosen), m.name)
		r := try(scratch, m, deps, timeout)
		results = append(results, r)
		fmt.Printf("%-10s %5.1fs  %s\n", r.verdict, r.took.Seconds(), r.detail)
		if verbose && (r.verdict == survived || r.verdict == invalid) {
			fmt.Println(indent(r.m.promise))
		}
	}
	return summary(results, time.Since(start))
}

// checkNames makes sure every mutant has a unique name, a promise and an edit.
func checkNames() error {
	seen := map[string]bool{}
	for _, m := range table {
		switch {
		case m.name == "" || m.promise == "" || len(m.edits) == 0:
			return fmt.Errorf("mutant %q: a name, a promise and an edit are required", m.name)
		case seen[m.name]:
			return fmt.Errorf("mutant %q: the name is taken", m.name)
		}
		seen[m.name] = true
	}
	return nil
}

// try applies m in dir, runs the tests, and restores the files.
func try(dir string, m *mutant, deps map[string][]string, timeout time.Duration) (r result) {
	t0 := time.Now()
	r.m = m
	defer func() { r.took = time.Since(t0) }()

	restore, err := apply(dir, m.edits)
	if err != nil {
		r.verdict, r.detail = stale, err.Error()
		return r
	}
	defer func() {
		if err := restore(); err != nil {
			panic(err) // the scratch copy is broken: no later result could be trusted
		}
	}()
	if m.equivalent != "" && !runEquivalent {
		r.verdict, r.detail = equivalent, "not run: "+abbreviate(m.equivalent)
		return r
	}
	var pkgs []string
	for _, e := range m.edits {
		for _, p := range deps["./"+filepath.ToSlash(filepath.Dir(e.file))] {
			if !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	if len(pkgs) == 0 {
		r.verdict, r.detail = invalid, "no test depends on "+m.edits[0].file
		return r
	}
	for _, pkg := range pkgs {
		out, err := goTest(dir, pkg, timeout)
		if err == nil {
			continue
		}
		if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
			r.verdict, r.detail = invalid, "does not build: "+firstLine(out, "")
			return r
		}
		r.verdict, r.detail = killed, pkg+": "+killers(out)
		if m.equivalent != "" {
			r.verdict, r.detail = invalid, "argued equivalent, but killed: "+r.detail
		}
		return r
	}
	r.verdict, r.detail = survived, "no test failed in "+strings.Join(pkgs, " ")
	if m.equivalent != "" {
		r.verdict = equivalent // and it survived, as argued
	}
	return r
}

// apply makes the edits in dir and returns what undoes them.
func apply(dir string, edits []edit) (restore func() error, err error) {
	originals := map[string][]byte{}
	restore = func() error {
		var errs []error
		for path, data := range originals {
			errs = append(errs, os.WriteFile(path, data, 0o644))
		}
		return errors.Join(errs...)
	}
	for _, e := range edits {
		path := filepath.Join(dir, e.file)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", e.file, err), restore())
		}
		if _, ok := originals[path]; !ok {
			originals[path] = data
		}
		switch n := bytes.Count(data, []byte(e.old)); n {
		case 1:
		case 0:
			return nil, errors.Join(fmt.Errorf("%s: snippet not found: %q", e.file, abbreviate(e.old)), restore())
		default:
			return nil, errors.Join(fmt.Errorf("%s: snippet found %d times, want once: %q", e.file, n, abbreviate(e.old)), restore())
		}
		data = bytes.Replace(data, []byte(e.old), []byte(e.replacement), 1)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, errors.Join(err, restore())
		}
	}
	return restore, nil
}

// goTest runs one package's tests. The process gets a little longer than the
// tests' own timeout, for the build.
func goTest(dir, pkg string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-race", "-count=1", "-vet=off", "-timeout", timeout.String(), pkg)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// killers names the tests that failed, or says how the package failed.
func killers(out []byte) string {
	if bytes.Contains(out, []byte("panic: test timed out")) {
		return "a test hung until the package timeout: " + firstLine(out, "running tests:")
	}
	var names []string
	for _, m := range failLine.FindAllSubmatch(out, -1) {
		name := string(m[1])
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(name, n+"/") }) {
			names = append(names, name) // a subtest is named with its parent only when it is the first
		}
	}
	switch {
	case len(names) == 0:
		return firstLine(out, "")
	case len(names) > 3:
		return strings.Join(names[:3], " ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, " ")
}

// firstLine returns the line after the one containing after ("" for the first
// non-empty line that is not an ok line).
func firstLine(out []byte, after string) string {
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		if after != "" {
			if strings.Contains(l, after) && i+1 < len(lines) {
				return strings.TrimSpace(lines[i+1])
			}
			continue
		}
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "ok ") && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return strings.TrimSpace(string(out))
}

func summary(results []result, took time.Duration) error {
	count := map[verdict]int{}
	for _, r := range results {
		count[r.verdict]++
	}
	fmt.Printf("\n%d tried: %d killed, %d survived, %d equivalent, %d stale, %d not building; %v\n",
		len(results), count[killed], count[survived], count[equivalent], count[stale], count[invalid], took.Round(time.Second))
	var bad []string
	for _, r := range results {
		if r.verdict == survived || r.verdict == stale || r.verdict == invalid {
			bad = append(bad, fmt.Sprintf("  %s %s: %s\n%s", r.verdict, r.m.name, r.detail, indent(r.m.promise)))
		}
	}
	if len(bad) > 0 {
		fmt.Println()
		fmt.Println(strings.Join(bad, "\n"))
		return fmt.Errorf("%d of %d mutants need attention", len(bad), len(results))
	}
	return nil
}

func listTable(root string, chosen []*mutant) error {
	var errs []error
	for _, m := range chosen {
		state := "ok"
		for _, e := range m.edits {
			data, err := os.ReadFile(filepath.Join(root, e.file))
			if err != nil {
				return err
			}
			if n := bytes.Count(data, []byte(e.old)); n != 1 {
				state = fmt.Sprintf("STALE (%s: the snippet occurs %d times)", e.file, n)
				errs = append(errs, fmt.Errorf("%s: %s", m.name, state))
			}
		}
		if m.equivalent != "" && state == "ok" {
			state = "equivalent"
		}
		fmt.Printf("%-40s %-12s %s\n%s\n", m.name, state, m.edits[0].file, indent(m.promise))
	}
	return errors.Join(errs...)
}

// moduleRoot finds the directory of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			if !bytes.Contains(data, []byte("module github.com/quiesce/quiesce\n")) {
				return "", fmt.Errorf("%s/go.mod is not Quiesce's", dir)
			}
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run it inside the module")
		}
		dir = parent
	}
}

// copyModule copies the module's files, but for version control, into dst.
func copyModule(root, dst string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// testDependents maps each package directory ("./mailbox") to the packages whose
// tests must run when it changes: itself first, then every package whose test
// binary links it, in the order go list gives them.
func testDependents(dir string) (map[string][]string, error) {
	cmd := exec.Command("go", "list", "-test", "-deps=false",
		"-f", `{{.ImportPath}}|{{.Dir}}|{{join .Deps " "}}|{{len .TestGoFiles}}|{{len .XTestGoFiles}}`, "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	const module = "github.com/quiesce/quiesce"
	type pkg struct {
		path string
		deps []string
	}
	var binaries []pkg // test binaries: "<path>.test"
	rels := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			return nil, fmt.Errorf("go list: unexpected line %q", line)
		}
		path, pkgDir := f[0], f[1]
		rel, err := filepath.Rel(dir, pkgDir)
		if err != nil {
			return nil, err
		}
		rel = "./" + filepath.ToSlash(rel)
		if base, ok := strings.CutSuffix(path, ".test"); ok {
			var deps []string
			for _, d := range strings.Fields(f[2]) {
				d, _, _ = strings.Cut(d, " ") // "pkg [x.test]" is pkg, built for a test
				deps = append(deps, d)
			}
			binaries = append(binaries, pkg{path: base, deps: deps})
			continue
		}
		if !strings.Contains(path, " ") {
			rels[path] = rel
		}
	}
	dependents := map[string][]string{}
	for path, rel := range rels {
		if !strings.HasPrefix(path, module) {
			continue
		}
		var own []string
		var others []string
		for _, b := range binaries {
			brel := rels[b.path]
			switch {
			case !hasTests(filepath.Join(dir, brel)):
				// Benchmarks only: nothing to kill a mutant with.
			case b.path == path:
				own = append(own, brel)
			case slices.Contains(b.deps, path):
				others = append(others, brel)
			}
		}
		slices.Sort(others)
		dependents[rel] = append(own, others...)
	}
	return dependents, nil
}

var testFunc = regexp.MustCompile(`(?m)^func (Test|Example|Fuzz)\w*\(`)

// hasTests reports whether the package in dir has a test, example or fuzz target
// (TestMain alone does not count).
func hasTests(dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, m := range testFunc.FindAll(data, -1) {
			if string(m) != "func TestMain(" {
				return true
			}
		}
	}
	return false
}

func indent(s string) string { return "      " + strings.ReplaceAll(s, "\n", "\n      ") }

func abbreviate(s string) string {
	if s = strings.Join(strings.Fields(s), " "); len(s) > 70 {
		return s[:67] + "..."
	}
	return s
}
