package tools_test

import (
	"context"
	"fmt"
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
	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
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
// pins, and what Argo reads is what the stack file and the GCP side say:
// each expectation below is a setting, a GCP name or a lesson of the seed,
// read back through Argo's own decoder, never through ours.
func TestArgoReadsEveryStacksConfigMaps(t *testing.T) {
	for _, stack := range tests.Stacks {
		for _, dryRun := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/preview=%v", stack, dryRun), func(t *testing.T) {
				cms, loaded := configMaps(t, stack, dryRun)
				s := loaded.Settings
				users := map[string]string{}
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
					assert.True(t, c.NodeEvents.IsEnabled())

					// Step logs archived to the stack's bucket, in the seed's
					// dated layout below a folder per account (the bucket's
					// grants give each account its folder; the e2e checks
					// the real controller expands the account).
					assert.True(t, c.ArtifactRepository.IsArchiveLogs(), "step logs are archived")
					require.NotNil(t, c.ArtifactRepository.GCS, "logs go to GCS")
					assert.Equal(t, s.Project+"-argo-logs-"+stack, c.ArtifactRepository.GCS.Bucket)
					assert.Equal(t, "argo/{{workflow.serviceAccountName}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{workflow.name}}/{{pod.name}}", c.ArtifactRepository.GCS.KeyFormat)

					// Autopilot bills requests: the executor's are small.
					require.NotNil(t, c.Executor)
					assert.Equal(t, "50m", c.Executor.Resources.Requests.Cpu().String(), "not Autopilot's 500m default")
					assert.Equal(t, "128Mi", c.Executor.Resources.Requests.Memory().String(), "not Autopilot's 2 GiB default")

					// Managed Prometheus scrapes plain HTTP on 9090.
					assert.True(t, c.MetricsConfig.Enabled == nil || *c.MetricsConfig.Enabled)
					assert.Equal(t, 9090, c.MetricsConfig.Port)
					assert.False(t, c.MetricsConfig.GetSecure(true), "plain HTTP inside the cluster")

					// The archive: PostgreSQL through the Auth Proxy sidecar.
					p := c.Persistence
					require.NotNil(t, p)
					assert.True(t, p.Archive)
					assert.True(t, p.NodeStatusOffload)
					assert.Equal(t, time.Duration(s.Argo.ArchiveTTLDays)*24*time.Hour, time.Duration(p.ArchiveTTL))
					assert.Equal(t, "argo-"+stack, p.ClusterName)
					require.NotNil(t, p.ConnectionPool)
					assert.Positive(t, p.ConnectionPool.MaxOpenConns, "bounded pool")
					require.NotNil(t, p.PostgreSQL, "the archive is PostgreSQL")
					assert.Equal(t, "127.0.0.1", p.PostgreSQL.Host, "through the Auth Proxy sidecar")
					assert.Equal(t, 5432, p.PostgreSQL.Port)
					assert.Equal(t, "argo", p.PostgreSQL.Database)
					assert.Equal(t, "username", p.PostgreSQL.UsernameSecret.Key)
					users[name] = p.PostgreSQL.UsernameSecret.Name

					// Workflow defaults: the seed's traps, solved.
					require.NotNil(t, c.WorkflowDefaults)
					d := c.WorkflowDefaults.Spec
					assert.Equal(t, "argo-workflow", d.ServiceAccountName, "seed trap 3: no workflow runs as default")
					require.NotNil(t, d.Executor, "the executor runs as an account of its own")
					assert.Equal(t, "argo-executor", d.Executor.ServiceAccountName, "only the executor's token may report results")
					require.NotNil(t, d.TTLStrategy)
					require.NotNil(t, d.TTLStrategy.SecondsAfterCompletion)
					assert.Equal(t, int32(s.Argo.WorkflowTTLHours*3600), *d.TTLStrategy.SecondsAfterCompletion)
					require.NotNil(t, d.PodGC)
					assert.Equal(t, "OnPodSuccess", string(d.PodGC.Strategy), "failed pods stay for debugging")
					retry := d.RetryStrategy
					require.NotNil(t, retry)
					assert.Equal(t, "Always", string(retry.RetryPolicy), "Failed nodes are candidates too (a preempted pod is Failed)")
					assert.Contains(t, retry.Expression, `lastRetry.status == "Error"`)
					assert.Contains(t, retry.Expression, "imminent node shutdown", "only the kubelet's node-shutdown failure among Failed nodes")
					assert.Equal(t, s.Argo.SpotSteps, d.NodeSelector["cloud.google.com/gke-spot"] == "true")
					if stack == stacks.Production {
						assert.Empty(t, d.NodeSelector, "Spot is opt-in per workflow in production")
					}

					// The UI's buttons to Cloud Logging, in the stack's project.
					require.Len(t, c.Links, 2)
					for _, l := range c.Links {
						assert.Contains(t, l.URL, "project="+s.Project)
						assert.Contains(t, l.URL, "${metadata.name}")
					}
				}
				assert.NotEqual(t, users["workflow-controller-configmap"], users["argo-server-configmap"],
					"the controller and the server present different database users")
			})
		}
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
	assert.Contains(t, argoproj.Versions, pinned)
}
