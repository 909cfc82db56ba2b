package tools_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/argoproj/argo-workflows/v4/config"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
)

// configMaps runs the whole program for a stack file under the recording
// mock and returns the data of the ConfigMaps it registers, by name.
func configMaps(t *testing.T, stack string, dryRun bool) (map[string]map[string]string, *stacks.Loaded) {
	t.Helper()
	cfgs, err := tests.StackConfig(stack)
	require.NoError(t, err)
	var loaded *stacks.Loaded
	rec, err := tests.Run(func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(ctx)
		if err != nil {
			return err
		}
		loaded = cfg
		_, err = infra.Platform(ctx, cfg)
		return err
	}, stack, cfgs, dryRun)
	require.NoError(t, err)
	out := map[string]map[string]string{}
	for _, cm := range rec.OfType("kubernetes:core/v1:ConfigMap") {
		data := tests.Prop(cm.Inputs, "data")
		if !data.IsObject() {
			continue
		}
		entries := map[string]string{}
		for k, v := range data.ObjectValue() {
			require.True(t, v.IsString(), "%s: entry %s must be a known string", tests.Str(cm.Inputs, "metadata.name"), k)
			entries[string(k)] = v.StringValue()
		}
		out[tests.Str(cm.Inputs, "metadata.name")] = entries
	}
	return out, loaded
}

// argoReads decodes a ConfigMap the way the controller and the server do at
// start and on every change: Argo's own config package (its joining rule,
// then a strict decode that refuses any key Argo does not know).
func argoReads(t *testing.T, ns, name string, data map[string]string) (*config.Config, error) {
	t.Helper()
	client := fake.NewSimpleClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       data,
	})
	return config.NewController(ns, name, client).Get(context.Background())
}

// TestArgoReadsEveryStacksConfigMaps: the controller's and the server's
// ConfigMaps of every stack are accepted by the Argo release this module
// pins, and what Argo reads is what the stack file says.
func TestArgoReadsEveryStacksConfigMaps(t *testing.T) {
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			cms, loaded := configMaps(t, stack, false)
			s := loaded.Settings
			for _, name := range []string{"workflow-controller-configmap", "argo-server-configmap"} {
				data, ok := cms[name]
				require.True(t, ok, "no ConfigMap %s", name)
				c, err := argoReads(t, s.Argo.Namespace, name, data)
				require.NoError(t, err, "Argo refuses %s", name)
				assert.Equal(t, s.Argo.Parallelism, c.Parallelism)
				assert.Equal(t, s.Argo.NamespaceParallelism, c.NamespaceParallelism)
				require.NotNil(t, c.ResourceRateLimit)
				assert.Equal(t, s.Argo.PodsPerSecond, c.ResourceRateLimit.Limit)
				assert.Equal(t, s.Argo.PodBurst, c.ResourceRateLimit.Burst)
				require.NotNil(t, c.Persistence)
				assert.True(t, c.Persistence.Archive)
				assert.Equal(t, time.Duration(s.Argo.ArchiveTTLDays)*24*time.Hour, time.Duration(c.Persistence.ArchiveTTL))
				require.NotNil(t, c.Persistence.PostgreSQL, "the archive is PostgreSQL")
				assert.Equal(t, "127.0.0.1", c.Persistence.PostgreSQL.Host)
				require.NotNil(t, c.ArtifactRepository.GCS, "logs go to GCS")
				assert.Equal(t, s.Project+"-argo-logs-"+stack, c.ArtifactRepository.GCS.Bucket)
				require.NotNil(t, c.WorkflowDefaults)
				assert.Equal(t, "argo-workflow", c.WorkflowDefaults.Spec.ServiceAccountName)
				retry := c.WorkflowDefaults.Spec.RetryStrategy
				require.NotNil(t, retry)
				assert.Equal(t, "Always", string(retry.RetryPolicy))
				assert.Contains(t, retry.Expression, "imminent node shutdown")
			}
		})
	}
}

// TestArgoRefusesWhatItDoesNotKnow proves the check above can fail: a key
// Argo removed (the seed's containerRuntimeExecutor) and a misspelt key are
// refused by the same reader, and so is a mapping written on its key's line.
func TestArgoRefusesWhatItDoesNotKnow(t *testing.T) {
	cms, _ := configMaps(t, stacks.Staging, false)
	good := cms["workflow-controller-configmap"]
	for name, change := range map[string]func(map[string]string){
		"removed key":         func(d map[string]string) { d["containerRuntimeExecutor"] = "emissary" },
		"misspelt key":        func(d map[string]string) { d["paralelism"] = "3" },
		"mapping on one line": func(d map[string]string) { d["nodeEvents"] = "enabled: true" },
		"misspelt nested key": func(d map[string]string) { d["resourceRateLimit"] = "limit: 10\nburts: 1\n" },
	} {
		t.Run(name, func(t *testing.T) {
			bad := map[string]string{}
			for k, v := range good {
				bad[k] = v
			}
			change(bad)
			_, err := argoReads(t, "argo", "workflow-controller-configmap", bad)
			assert.Error(t, err)
		})
	}
}

// TestThePinnedReleaseIsAnAcceptedVersion: the Argo release that make tools
// builds and this module reads with is one argo.version accepts, so the
// end-to-end tests run a release users may deploy.
func TestThePinnedReleaseIsAnAcceptedVersion(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^(?:require)?\s*github\.com/argoproj/argo-workflows/v4 (v\S+)`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod requires Argo")
	pinned := string(m[1])
	require.NotEmpty(t, pinned)
	assert.Contains(t, stacks.ArgoVersions, pinned)
}
