package tests

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The layers of docs/architecture.md, as imports: each package may not
// import what belongs to another room. A change that reaches across fails
// here and names the file.
func TestEachPackageImportsOnlyTheLayersBelowIt(t *testing.T) {
	const mod = "github.com/argo-platform/argo-platform/"
	const gcpSDK, kubeSDK = "github.com/pulumi/pulumi-gcp/", "github.com/pulumi/pulumi-kubernetes/"
	forbidden := map[string][]string{
		// The settings know no resource.
		"stacks": {mod + "infra", gcpSDK, kubeSDK},
		// Argo takes plain values and inputs: no settings, no cloud.
		"infra/argo": {mod + "stacks", mod + "infra/gcp", gcpSDK},
		// Google Cloud components know nothing of Kubernetes or Argo.
		"infra/gcp": {mod + "infra/argo", mod + "infra/kube", kubeSDK},
		// Shared knowledge, below both components.
		"infra/monitoring": {mod + "stacks", mod + "infra/", gcpSDK, kubeSDK},
		"infra/kube":       {mod + "stacks", mod + "infra/", gcpSDK},
	}
	for dir, bad := range forbidden {
		files, err := filepath.Glob(filepath.Join(RepoRoot(), dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			require.NoError(t, err)
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range bad {
					assert.False(t, path == strings.TrimSuffix(b, "/") || strings.HasPrefix(path, b),
						"%s imports %s: docs/architecture.md keeps %s out of %s", filepath.Join(dir, filepath.Base(f)), path, b, dir)
				}
			}
		}
	}
}
