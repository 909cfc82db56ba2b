package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shellBlocks returns the ```sh blocks of a Markdown file.
func shellBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var blocks []string
	for _, part := range strings.Split(string(data), "```sh\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		require.True(t, ok, "an unclosed shell block in %s", path)
		blocks = append(blocks, block)
	}
	return blocks
}

var (
	usedVar     = regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`)
	assignedVar = regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]*)=|\bfor ([A-Z][A-Z0-9_]*) in\b`)
)

// docs/bootstrap.md works when pasted section by section: every shell block
// is valid shell and sets every variable it uses, so none depends on an
// earlier section's shell.
func TestBootstrapSectionsStandAlone(t *testing.T) {
	blocks := shellBlocks(t, filepath.Join(RepoRoot(), "docs", "bootstrap.md"))
	require.NotEmpty(t, blocks)
	// The first block writes the reader's values to valuesFile; a block
	// that sources it has them, whatever shell it is pasted into.
	const writes, reads = "cat > " + valuesFile + " <<", ". ./" + valuesFile + "\n"
	require.Contains(t, blocks[0], writes, "the first block writes the values")
	values := assignedVar.FindAllStringSubmatch(blocks[0], -1)
	for i, block := range blocks {
		out, err := exec.Command("bash", "-n", "-c", block).CombinedOutput()
		assert.NoError(t, err, "block %d is not valid shell: %s", i, out)
		set := map[string]bool{}
		assigned := assignedVar.FindAllStringSubmatch(block, -1)
		if strings.Contains(block, reads) {
			assigned = append(assigned, values...)
		}
		for _, m := range assigned {
			set[m[1]+m[2]] = true
		}
		for _, m := range usedVar.FindAllStringSubmatch(block, -1) {
			assert.True(t, set[m[1]], "block %d uses $%s without setting it:\n%s", i, m[1], block)
		}
	}
}

// valuesFile holds the values docs/bootstrap.md asks for (git-ignored).
const valuesFile = ".bootstrap.env"

var testName = regexp.MustCompile("`(Test[A-Z][A-Za-z0-9]*)`")

// TestEveryTestTheDocsNameExists: a promise in the README or docs/ that
// names its proving test names a test that exists (a renamed or deleted
// test must take the sentence with it).
func TestEveryTestTheDocsNameExists(t *testing.T) {
	root := RepoRoot()
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9]*)\(`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range funcRE.FindAllStringSubmatch(string(data), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, defined, "TestEveryTestTheDocsNameExists")
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	named := 0
	for _, doc := range append(docs, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(doc)
		require.NoError(t, err)
		for _, m := range testName.FindAllStringSubmatch(string(data), -1) {
			named++
			assert.True(t, defined[m[1]], "%s names %s, which no test file defines", filepath.Base(doc), m[1])
		}
	}
	assert.Positive(t, named)
}
