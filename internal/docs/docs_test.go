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
