package docs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// root is the module's root, two levels up from this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	require.NoError(t, err)
	return r
}

// goBlocks returns the ```go blocks of a markdown text.
func goBlocks(text string) []string {
	var blocks []string
	for _, part := range strings.Split(text, "```go\n")[1:] {
		end := strings.Index(part, "```")
		if end < 0 {
			continue
		}
		blocks = append(blocks, part[:end])
	}
	return blocks
}

// Every Go snippet of the README is a whole file a new user can copy, and it
// compiles against the module as it is now: a renamed API cannot leave the README
// behind. (go build -overlay adds the snippets as packages without writing into the
// tree; go vet cannot.)
func TestTheREADMEsGoSnippetsCompile(t *testing.T) {
	r := root(t)
	readme, err := os.ReadFile(filepath.Join(r, "README.md"))
	require.NoError(t, err)
	blocks := goBlocks(string(readme))
	require.NotEmpty(t, blocks, "the README shows Go")
	overlay := map[string]map[string]string{"Replace": {}}
	var pkgs []string
	dir := t.TempDir()
	for i, b := range blocks {
		require.True(t, strings.HasPrefix(b, "package "), "snippet %d is a whole file, from its package clause:\n%s", i+1, b)
		file := filepath.Join(dir, fmt.Sprintf("snippet%d.go", i+1))
		require.NoError(t, os.WriteFile(file, []byte(b), 0o644))
		pkg := filepath.Join(r, "internal", "docs", "readme", fmt.Sprintf("snippet%d", i+1))
		overlay["Replace"][filepath.Join(pkg, "main.go")] = file
		pkgs = append(pkgs, "./"+strings.TrimPrefix(pkg, r+string(filepath.Separator)))
	}
	ov, err := json.Marshal(overlay)
	require.NoError(t, err)
	ovFile := filepath.Join(dir, "overlay.json")
	require.NoError(t, os.WriteFile(ovFile, ov, 0o644))
	cmd := exec.Command("go", append([]string{"build", "-overlay=" + ovFile}, pkgs...)...)
	cmd.Dir = r
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "the README's snippets must compile:\n%s", out)
}

// Every example docs/SEEDS.md links to is a function of that name in that file.
func TestEveryExampleTheSeedsTableLinksToExists(t *testing.T) {
	r := root(t)
	seeds, err := os.ReadFile(filepath.Join(r, "docs", "SEEDS.md"))
	require.NoError(t, err)
	links := regexp.MustCompile("\\[`(Example\\w*)`\\]\\(\\.\\./([^)]+)\\)").FindAllStringSubmatch(string(seeds), -1)
	require.Greater(t, len(links), 25, "the table links its examples")
	for _, l := range links {
		name, file := l[1], l[2]
		src, err := os.ReadFile(filepath.Join(r, file))
		if !assert.NoError(t, err, "%s links to %s", name, file) {
			continue
		}
		assert.Contains(t, string(src), "func "+name+"()", "%s is in %s", name, file)
	}
}

// Every figure the README's Costs section quotes (a ratio, a time, a size, an
// added ns) comes from the committed report, docs/perf/README.md, which go run
// ./bench/report writes: none is typed in by hand or kept from an earlier run.
func TestTheREADMEsCostsComeFromTheCommittedReport(t *testing.T) {
	r := root(t)
	readme, err := os.ReadFile(filepath.Join(r, "README.md"))
	require.NoError(t, err)
	report, err := os.ReadFile(filepath.Join(r, "docs", "perf", "README.md"))
	require.NoError(t, err)
	costs := string(readme)
	start := strings.Index(costs, "\n## Costs\n")
	require.GreaterOrEqual(t, start, 0, "the README has a Costs section")
	costs = costs[start+1:]
	if end := strings.Index(costs, "\n## "); end >= 0 {
		costs = costs[:end]
	}
	figure := regexp.MustCompile(`\+?\d+(\.\d+)?(x| µs| ns| B)\b`)
	var checked int
	for _, line := range strings.Split(costs, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| what") {
			continue // the table's rows hold the figures; its prose says where they come from
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		for _, f := range figure.FindAllString(cells[2], -1) { // the figure column, not the target's
			checked++
			assert.True(t, strings.Contains(string(report), f),
				"the README quotes %s (%q), which docs/perf/README.md does not have", f, strings.TrimSpace(cells[1]))
		}
	}
	assert.Greater(t, checked, 20, "the Costs table quotes the report's figures")
}
