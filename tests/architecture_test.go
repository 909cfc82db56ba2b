package tests

import (
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/architecture.md's picture from the layers here")

// A layer is one package of the module: what it knows, the packages of the
// module it may import (its arrows), and the SDKs kept out of it.
type layer struct {
	pkg, knows string
	imports    []string
	keepsOut   []string
}

const (
	module           = "github.com/argo-platform/argo-platform"
	gcpSDK, kubeSDK  = "github.com/pulumi/pulumi-gcp/", "github.com/pulumi/pulumi-kubernetes/"
	pictureStart     = "<!-- the picture: written by `go test ./tests -run TestArchitecture -update-docs` from tests/architecture_test.go -->"
	pictureEnd       = "<!-- end of the picture -->"
	architectureDocs = "docs/architecture.md"
)

// layers is docs/architecture.md's picture, every package and every arrow:
// TestArchitecture fails on an import that is not an arrow here, an arrow
// no file uses, a package missing here, and a picture in the doc that is
// not this list's.
var layers = []layer{
	{".", "pulumi.Run(infra.Deploy); outside Pulumi, says what to run", []string{"infra"}, nil},
	{"infra", "the wiring: settings -> GCP components -> their outputs -> Argo", []string{"infra/argo", "infra/gcp", "infra/kube", "infra/monitoring", "stacks"}, nil},
	{"infra/gcp", "what Google Cloud gets, one component per concern", []string{"infra/gcp/google", "infra/monitoring"}, []string{kubeSDK}},
	{"infra/gcp/google", "the GCP components' settings sections with Google's rules, and what Google decides about names; no SDK", []string{"infra/setting"}, []string{gcpSDK, kubeSDK}},
	{"infra/argo", "what Kubernetes and Argo get: the argo section and Pulumi inputs, no cloud", []string{"infra/argo/argoproj", "infra/monitoring"}, []string{gcpSDK}},
	{"infra/argo/argoproj", "the Argo component's settings section with Argo's and Kubernetes' rules; no SDK", []string{"infra/setting"}, []string{gcpSDK, kubeSDK}},
	{"infra/setting", "a settings problem as a value, and the collector every section's rules use", nil, []string{gcpSDK, kubeSDK}},
	{"infra/kube", "the Kubernetes provider's settings (also the tests' local cluster's)", nil, []string{gcpSDK}},
	{"infra/monitoring", "alert, query and chart expressions, no resources", nil, []string{gcpSDK, kubeSDK}},
	{"stacks", "the sections composed; the team's policy: defaults per environment, production's invariants, example values, rules across sections", []string{"infra/argo/argoproj", "infra/gcp/google", "infra/setting"}, []string{gcpSDK, kubeSDK}},
	{"stacks/own", "go run ./stacks/own: a team's values into the three stack files", []string{"infra/gcp/google", "stacks"}, nil},
	{"bootstrap", "the deployer's bootstrap (docs/bootstrap.md)", []string{"bootstrap/trust"}, nil},
	{"bootstrap/trust", "the CI deployer's trust conditions", []string{"infra/gcp/google", "stacks"}, nil},
	{"tests", "the harness: the real stack files, mocks, the repository's root", []string{"stacks"}, nil},
	{"tests/iam", "the IAM the program registers, evaluated; the GCS and metadata stand-ins", []string{"infra", "stacks", "tests"}, nil},
	{"tests/localcluster", "a local control plane (etcd, kube-apiserver, controllers, kwok) in a private network", nil, nil},
	{"tests/netpol", "GKE Dataplane V2's NetworkPolicy egress judgement, stood in, and where a stack's pods connect on GKE", []string{"infra/argo", "infra/gcp/google"}, nil},
	{"tests/localpg", "a throwaway PostgreSQL set up as Cloud SQL sets one up", []string{"tests/localcluster"}, nil},
	{"tests/localdeploy", "the Kubernetes side deployed with the real engine, GCP played by ConfigMaps", []string{"infra", "infra/argo", "infra/gcp/google", "infra/kube", "stacks", "tests", "tests/localcluster"}, nil},
	{"tests/realargo", "the real Argo controller and server as host processes, the executor's and Google sign-in's stand-ins", []string{"infra/gcp/google", "stacks", "tests/iam", "tests/localcluster", "tests/localpg"}, nil},
	{"tests/sandbox", "make sandbox", []string{"tests", "tests/localcluster", "tests/localdeploy", "tests/realargo"}, nil},
	{"tests/bench", "make bench", []string{"infra/argo/argoproj", "stacks", "tests", "tests/localcluster", "tests/localdeploy", "tests/realargo"}, nil},
	{"tests/perf", "the performance and cost model", []string{"infra", "infra/argo", "stacks", "tests"}, nil},
	{"tests/perf/report", "make perf", []string{"tests", "tests/perf"}, nil},
	{"tests/registrations", "every registration of every stack, to compare before and after a refactor", []string{"infra", "tests"}, nil},
	{"tests/previewstate", "a preview with the real engine against a sandbox an earlier commit deployed", []string{"tests/localdeploy"}, nil},
}

// picture renders layers as the doc shows them.
func picture() string {
	var b strings.Builder
	b.WriteString("```\n")
	for _, l := range layers {
		fmt.Fprintf(&b, "%-20s %s\n", l.pkg, l.knows)
		if len(l.imports) > 0 {
			fmt.Fprintf(&b, "%-20s   imports %s\n", "", strings.Join(l.imports, ", "))
		}
		if len(l.keepsOut) > 0 {
			var out []string
			for _, k := range l.keepsOut {
				out = append(out, map[string]string{gcpSDK: "the GCP SDK", kubeSDK: "the Kubernetes SDK"}[k])
			}
			fmt.Fprintf(&b, "%-20s   never %s\n", "", strings.Join(out, " or "))
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// imports reads the module's packages (outside test files, the separate
// modules under tools/ and the git-ignored folders) and the imports of each.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root := RepoRoot()
	got := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || rel == "tools" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		if _, ok := got[pkg]; !ok {
			got[pkg] = nil
		}
		for _, imp := range parsed.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			got[pkg] = append(got[pkg], p+"\x00"+filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	return got
}

func TestArchitecture(t *testing.T) {
	got := imports(t)
	listed := map[string]layer{}
	for _, l := range layers {
		listed[l.pkg] = l
	}
	used := map[string]bool{}
	for pkg, imps := range got {
		l, ok := listed[pkg]
		if !assert.True(t, ok, "package %s is not in the picture (tests/architecture_test.go layers)", pkg) {
			continue
		}
		for _, imp := range imps {
			path, file, _ := strings.Cut(imp, "\x00")
			if rest, ok := strings.CutPrefix(path, module+"/"); ok {
				assert.True(t, slices.Contains(l.imports, rest), "%s imports %s: not an arrow of the picture", file, rest)
				used[pkg+" -> "+rest] = true
			} else {
				assert.NotEqual(t, module, path, "%s imports the main package", file)
			}
			for _, out := range l.keepsOut {
				assert.False(t, strings.HasPrefix(path, out), "%s imports %s: the picture keeps %s out of %s", file, path, out, pkg)
			}
		}
	}
	for _, l := range layers {
		_, ok := got[l.pkg]
		assert.True(t, ok, "the picture lists %s, which has no Go file", l.pkg)
		for _, to := range l.imports {
			assert.True(t, used[l.pkg+" -> "+to], "the picture draws %s -> %s, which no file imports", l.pkg, to)
		}
	}

	path := filepath.Join(RepoRoot(), architectureDocs)
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	before, rest, ok := strings.Cut(string(doc), pictureStart+"\n")
	require.True(t, ok, "%s has no line %q", architectureDocs, pictureStart)
	shown, after, ok := strings.Cut(rest, pictureEnd)
	require.True(t, ok, "%s has no line %q", architectureDocs, pictureEnd)
	if *updateDocs {
		require.NoError(t, os.WriteFile(path, []byte(before+pictureStart+"\n"+picture()+pictureEnd+after), 0o644))
		return
	}
	assert.Equal(t, picture(), shown, "%s's picture is not the layers in tests/architecture_test.go: run go test ./tests -run TestArchitecture -update-docs", architectureDocs)
}
