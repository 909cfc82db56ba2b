//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/infra/monitoring"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/localpg"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// argoServer is where the real argo server listens (its Deployment's port,
// in this test's private network).
const argoServer = realargo.ServerURL

// preemptFirstAttempt, on a step's pod, makes the executor preempt the
// step's first attempt as a Spot VM's shutdown would.
const preemptFirstAttempt = "e2e.argo-platform.dev/preempt-first-attempt"

// liveArgo is the real controller and server running for a deployed stack.
type liveArgo struct {
	*realargo.Live
	cfg *stacks.Loaded
	ns  string
	// archived are the workflows check saw archived.
	archived []string
	// dir lives as long as the stack's test: Argo's logs go below it when
	// a subtest restarts Argo for the subtests after it to read.
	dir string
}

// holdUntil is the annotation of a step whose main container runs until
// the test releases it: its value is a key of holds.
const holdUntil = "e2e.argo-platform.dev/hold-until"

// holds are the release channels of held steps, by key.
var holds sync.Map

// hold returns the annotations of a step that runs until release is called
// (or five minutes pass: a test that fails before releasing it does not
// hang the run).
func hold(key string) (annotations map[string]string, release func()) {
	ch := make(chan struct{})
	holds.Store(key, ch)
	var once sync.Once
	return map[string]string{holdUntil: key}, func() { once.Do(func() { close(ch) }) }
}

// decide is the executor's outcome for the e2e's steps: as written, except
// a first attempt annotated preemptFirstAttempt, which is preempted, and a
// step annotated holdUntil, which ends once released.
func decide(p *corev1.Pod) realargo.Outcome {
	if key := p.Annotations[holdUntil]; key != "" {
		if ch, ok := holds.Load(key); ok {
			select {
			case <-ch.(chan struct{}):
			case <-time.After(5 * time.Minute):
			}
		}
	}
	if p.Annotations[preemptFirstAttempt] == "true" && realargo.Attempt(p) == 0 {
		return realargo.Outcome{Preempted: true}
	}
	return realargo.StepsAsWritten(p)
}

// argoOptions are how the e2e runs Argo's binaries, logs in a new folder.
func argoOptions(t *testing.T) realargo.Options {
	return realargo.Options{
		Client: cluster.Client, Server: cluster.Server,
		Bin: filepath.Join(localdeploy.Tools(), "bin"), Dir: t.TempDir(),
		// checkEgress judges what they connect to.
		RecordConnections: true,
	}
}

// options are argoOptions with the logs in a new folder below l.dir, which
// outlives the subtest that restarts Argo: the subtests after it read the
// restarted controller's and server's logs (a subtest's own temporary
// folder is removed when it ends, and a log read from there is empty).
func (l *liveArgo) options(t *testing.T) realargo.Options {
	t.Helper()
	o := argoOptions(t)
	dir, err := os.MkdirTemp(l.dir, "argo-")
	require.NoError(t, err)
	o.Dir = dir
	return o
}

// restart restarts Argo as deployed now (cfg) on the same database.
func (l *liveArgo) restart(t *testing.T, ctx context.Context, cfg *stacks.Loaded) *liveArgo {
	t.Helper()
	require.NoError(t, l.Restart(ctx, l.options(t), cfg, decide))
	signedIn = l.Session
	return &liveArgo{Live: l.Live, cfg: cfg, ns: cfg.Argo.WorkflowNamespace, archived: l.archived, dir: l.dir}
}

// startRealArgo sets up PostgreSQL as Cloud SQL holds it after `pulumi up`,
// runs the grant Job's script as the Job would, then starts the real
// controller and server from their Deployments and plays the executor
// (realargo.Run).
func startRealArgo(t *testing.T, ctx context.Context, cfg *stacks.Loaded) *liveArgo {
	t.Helper()
	if _, err := localpg.Installed(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err, "; .ci/run installs Debian's postgresql")
	}
	t.Logf("test process uid %d: PostgreSQL's server tools run %s", os.Geteuid(), localpg.How())
	start := time.Now()
	live, err := realargo.Run(ctx, argoOptions(t), cfg, decide)
	require.NoError(t, err)
	t.Cleanup(live.Stop)
	require.Contains(t, live.GrantOutput, "argo database schema grants in place")
	require.Contains(t, live.GrantOutput, "argo-server database grants in place")
	t.Logf("FIGURE real controller and server answering in %s", time.Since(start).Round(time.Millisecond))
	signedIn = live.Session
	return &liveArgo{Live: live, cfg: cfg, ns: cfg.Argo.WorkflowNamespace, dir: t.TempDir()}
}

// signedIn is the session api calls with: the operator's (realargo.Operator,
// an editor who runs everywhere), signed in when the real server starts.
var signedIn string

// api calls the real argo server's HTTP API as the operator.
func api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	return apiAs(t, signedIn, method, path, body, out)
}

// apiAs calls the real argo server's HTTP API with session (the
// Authorization header's value; "" for none).
func apiAs(t *testing.T, session, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, argoServer+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", session)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(data, out), "%s %s: %s", method, path, data)
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return resp.StatusCode
}

// workflow is the part of a Workflow the tests read.
type workflow struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		ServiceAccountName string `json:"serviceAccountName"`
	} `json:"spec"`
	Status struct {
		Phase   string `json:"phase"`
		Message string `json:"message"`
		Nodes   map[string]struct {
			Name              string `json:"name"`
			Type              string `json:"type"`
			Phase             string `json:"phase"`
			Message           string `json:"message"`
			MemoizationStatus *struct {
				Hit bool `json:"hit"`
			} `json:"memoizationStatus"`
			Outputs *struct {
				Parameters []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"parameters"`
			} `json:"outputs"`
		} `json:"nodes"`
	} `json:"status"`
}

// submit creates a Workflow through the real server, as a user behind IAP
// does, and returns its name.
func (l *liveArgo) submit(t *testing.T, wf map[string]any) string {
	t.Helper()
	return l.submitIn(t, l.ns, wf)
}

// submitIn is submit into namespace ns.
func (l *liveArgo) submitIn(t *testing.T, ns string, wf map[string]any) string {
	t.Helper()
	var created workflow
	code := api(t, http.MethodPost, "/api/v1/workflows/"+ns, map[string]any{"workflow": wf}, &created)
	require.Equal(t, http.StatusOK, code, "the server accepts the workflow; its log:\n%s", l.Server.Tail(20))
	return created.Metadata.Name
}

// finished waits until workflow name ends and returns it as the server
// shows it (nodes included, from the offload table when offloaded).
func (l *liveArgo) finished(t *testing.T, name string) workflow {
	t.Helper()
	return l.finishedIn(t, l.ns, name)
}

// finishedIn is finished for a workflow of namespace ns.
func (l *liveArgo) finishedIn(t *testing.T, ns, name string) workflow {
	t.Helper()
	var wf workflow
	require.Eventually(t, func() bool {
		wf = workflow{}
		if api(t, http.MethodGet, "/api/v1/workflows/"+ns+"/"+name, nil, &wf) != http.StatusOK {
			return false
		}
		return slices.Contains([]string{"Succeeded", "Failed", "Error"}, wf.Status.Phase)
	}, 3*time.Minute, 500*time.Millisecond, "workflow %s did not finish; controller log:\n%s", name, l.Controller.Tail(30))
	return wf
}

// oneStep is a one-step workflow running command, with annotations on its pod.
func oneStep(generateName, command string, podAnnotations map[string]string) map[string]any {
	tmpl := map[string]any{
		"name":      "main",
		"container": map[string]any{"image": "busybox:1.36", "command": []string{"sh", "-c", command}},
	}
	if podAnnotations != nil {
		tmpl["metadata"] = map[string]any{"annotations": podAnnotations}
	}
	return map[string]any{
		"metadata": map[string]any{"generateName": generateName},
		"spec":     map[string]any{"entrypoint": "main", "templates": []any{tmpl}},
	}
}

// check runs workflows on the real controller and checks what a user would
// see: through the real server, in the archive and in the logs. Everything
// is submitted at once (the controller works on them side by side), then
// each is checked.
func (l *liveArgo) check(t *testing.T, ctx context.Context) {
	workflowKSA := stacks.NamesFor(l.cfg.Settings).Workflow.KSA
	const cronName = "e2e-every-minute"
	memo := func() map[string]any {
		wf := oneStep("memo-", "echo once", nil)
		tmpl := wf["spec"].(map[string]any)["templates"].([]any)[0].(map[string]any)
		tmpl["memoize"] = map[string]any{
			"key": "e2e", "maxAge": "1h",
			"cache": map[string]any{"configMap": map[string]any{"name": "e2e-memo-cache"}},
		}
		return wf
	}
	cron := map[string]any{
		"metadata": map[string]any{"name": cronName},
		"spec": map[string]any{
			"schedules":         []string{"* * * * *"},
			"concurrencyPolicy": "Forbid",
			"workflowSpec":      oneStep("", "echo tick", nil)["spec"],
		},
	}
	require.Equal(t, http.StatusOK, api(t, http.MethodPost, "/api/v1/cron-workflows/"+l.ns, map[string]any{"cronWorkflow": cron}, nil),
		"the server accepts the CronWorkflow")
	defer api(t, http.MethodDelete, "/api/v1/cron-workflows/"+l.ns+"/"+cronName, nil, nil)
	hello := l.submit(t, oneStep("hello-", "echo hello", nil))
	fails := l.submit(t, oneStep("fails-", "echo no; exit 3", nil))
	preempted := l.submit(t, oneStep("preempted-", "echo work", map[string]string{preemptFirstAttempt: "true"}))
	memo1 := l.submit(t, memo())
	large := l.submit(t, oneStep("large-", "echo "+strings.Repeat("x", 140*1024), nil))
	archived := []string{hello, fails, preempted}

	// Workflows that try to leave the workflow's own boundary.
	names := stacks.NamesFor(l.cfg.Settings)
	asAccount := func(generateName, ksa string) map[string]any {
		wf := oneStep(generateName, "echo escaped", nil)
		wf["spec"].(map[string]any)["serviceAccountName"] = ksa
		return wf
	}
	// An account someone created in the workflow namespace by hand: it
	// exists, so only the admission policy stands in the way.
	_, err := cluster.Client.CoreV1().ServiceAccounts(l.ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: intruderKSA},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	defer cluster.Client.CoreV1().ServiceAccounts(l.ns).Delete(ctx, intruderKSA, metav1.DeleteOptions{})
	asController := l.submit(t, asAccount(refusedPrefix+"controller-", names.Controller.KSA))
	asServer := l.submit(t, asAccount(refusedPrefix+"server-", names.Server.KSA))
	asIntruder := l.submit(t, asAccount(refusedPrefix+"intruder-", intruderKSA))
	mountsAdmin := oneStep(refusedPrefix+"admin-secret-", "cat /db/password", nil)
	spec := mountsAdmin["spec"].(map[string]any)
	spec["volumes"] = []any{map[string]any{"name": "db", "secret": map[string]any{"secretName": "argo-db-admin"}}}
	spec["templates"].([]any)[0].(map[string]any)["container"].(map[string]any)["volumeMounts"] = []any{
		map[string]any{"name": "db", "mountPath": "/db"},
	}
	adminSecret := l.submit(t, mountsAdmin)
	// Each identity's workflows run in its own namespace; naming an
	// identity anywhere else starts no pod.
	asIdentity, elsewhere, idNS := map[string]string{}, map[string]string{}, map[string]string{}
	for _, wi := range l.cfg.Identities {
		idNS[wi.Name] = stacks.IdentityNamespace(l.cfg.Settings, wi)
		asIdentity[wi.Name] = l.submitIn(t, idNS[wi.Name], asAccount("as-"+wi.Name+"-", wi.Name))
		elsewhere[wi.Name] = l.submit(t, asAccount(refusedPrefix+"elsewhere-"+wi.Name+"-", wi.Name))
	}
	// A step whose template names another account than its workflow (which
	// names none, so runs as the default workflow account): in the
	// identity's namespace it runs as the identity, whose folder its
	// archive key (the workflow's account's) is not in.
	var mixed, mixedNS string
	if len(l.cfg.Identities) > 0 {
		wf := oneStep(refusedPrefix+"mixed-", "echo mixed", nil)
		wf["spec"].(map[string]any)["templates"].([]any)[0].(map[string]any)["serviceAccountName"] = l.cfg.Identities[0].Name
		mixedNS = idNS[l.cfg.Identities[0].Name]
		mixed = l.submitIn(t, mixedNS, wf)
	}
	// A step whose podSpecPatch makes its wait container report for
	// another workflow's node (hello's: a one-step workflow's node id is
	// its name), and a resource template, whose main container Argo gives
	// the executor's token.
	forge := oneStep(refusedPrefix+"forge-", "echo forged", nil)
	forge["spec"].(map[string]any)["templates"].([]any)[0].(map[string]any)["podSpecPatch"] =
		`{"containers":[{"name":"wait","env":[{"name":"ARGO_NODE_ID","value":"` + hello + `"},{"name":"ARGO_WORKFLOW_NAME","value":"` + hello + `"}]}]}`
	forged := l.submit(t, forge)
	resource := l.submit(t, map[string]any{
		"metadata": map[string]any{"generateName": refusedPrefix + "resource-"},
		"spec": map[string]any{"entrypoint": "main", "templates": []any{map[string]any{
			"name":     "main",
			"resource": map[string]any{"action": "create", "manifest": "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTaskResult\nmetadata:\n  name: " + hello + "\n"},
		}}},
	})

	t.Run("a workflow naming no account runs as the workflow account and succeeds", func(t *testing.T) {
		wf := l.finished(t, hello)
		assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
		played := l.Executor.Played(hello)
		require.Len(t, played, 1)
		assert.Equal(t, workflowKSA, played[0].ServiceAccount)
		l.checkArchived(t, played[0], workflowKSA, hello)
	})

	refused := []struct{ what, name, because string }{
		{"the controller's account", asController, names.Controller.KSA},
		{"the server's account", asServer, names.Server.KSA},
		{"an account outside the allowlist", asIntruder, argo.AdmissionPolicyName(l.ns)},
		{"the database admin's Secret", adminSecret, argo.AdmissionPolicyName(l.ns)},
		{"a podSpecPatch that makes its wait container report for another workflow", forged, argo.ExecutorTokenSecret},
		{"a resource template (its main container would hold the executor's token)", resource, argo.ExecutorTokenSecret},
	}
	for _, wi := range l.cfg.Identities {
		refused = append(refused, struct{ what, name, because string }{"the workflow identity " + wi.Name + " outside its namespace", elsewhere[wi.Name], wi.Name})
	}
	for _, c := range refused {
		t.Run("a workflow using "+c.what+" cannot start a pod", func(t *testing.T) {
			wf := l.finished(t, c.name)
			assert.NotEqual(t, "Succeeded", wf.Status.Phase)
			assert.Empty(t, l.Executor.Played(c.name), "no pod of it ever existed")
			var why []string
			for _, n := range wf.Status.Nodes {
				why = append(why, n.Message)
			}
			assert.Contains(t, strings.Join(why, "\n")+wf.Status.Message, c.because, "refused, and the message says why")
		})
	}

	for _, wi := range l.cfg.Identities {
		t.Run("a workflow naming the workflow identity "+wi.Name+" runs as it", func(t *testing.T) {
			wf := l.finishedIn(t, idNS[wi.Name], asIdentity[wi.Name])
			assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
			played := l.Executor.Played(wf.Metadata.Name)
			require.Len(t, played, 1)
			assert.Equal(t, wi.Name, played[0].ServiceAccount, "its pod ran, and reported, as %s", wi.Name)
			l.checkArchived(t, played[0], wi.Name, wf.Metadata.Name)
		})
	}

	if len(l.cfg.Identities) > 0 {
		t.Run("a step holding its namespace's executor token reports only for workflows of its own account", func(t *testing.T) {
			l.checkForging(t, ctx, l.cfg.Identities[0])
		})
	}

	t.Run("a workflow cannot read, overwrite or list another pipeline's logs; the server reads them all", func(t *testing.T) {
		if len(l.cfg.Identities) == 0 {
			t.Skipf("%s runs workflows as one account only: no other pipeline's logs to reach (the permission matrix covers every stack)", l.cfg.Environment)
		}
		var keys []string
		owner := map[string]string{}
		for name, ksa := range map[string]string{hello: workflowKSA} {
			for _, p := range l.Executor.Played(name) {
				for _, k := range p.Archived {
					keys, owner[k] = append(keys, k), ksa
				}
			}
		}
		for _, wi := range l.cfg.Identities {
			for _, p := range l.Executor.Played(asIdentity[wi.Name]) {
				for _, k := range p.Archived {
					keys, owner[k] = append(keys, k), wi.Name
				}
			}
		}
		require.NotEmpty(t, keys)
		accounts := []string{workflowKSA}
		for _, wi := range l.cfg.Identities {
			accounts = append(accounts, wi.Name)
		}
		bucket := stacks.NamesFor(l.cfg.Settings).Bucket
		server := "serviceAccount:" + names.Server.Email(l.cfg.Project)
		for _, k := range keys {
			_, err := l.Cloud.Get(server, bucket, k)
			assert.NoError(t, err, "the server reads %s for the UI", k)
		}
		for _, ksa := range accounts {
			ns := l.ns
			if idNS[ksa] != "" {
				ns = idNS[ksa]
			}
			sa, err := cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, ksa, metav1.GetOptions{})
			require.NoError(t, err)
			me, err := l.Cloud.Identity(ns, ksa, sa.Annotations["iam.gke.io/gcp-service-account"])
			require.NoError(t, err, "GKE gives %s its own Google account", ksa)
			_, err = l.Cloud.List(me, bucket, "argo/")
			assert.ErrorContains(t, err, "403", "%s lists every pipeline's folder", ksa)
			_, err = l.Cloud.List(me, bucket, "argo/"+ksa+"/")
			assert.NoError(t, err, "%s lists its own folder (Argo lists an input artifact's key)", ksa)
			for _, k := range keys {
				_, getErr := l.Cloud.Get(me, bucket, k)
				putErr := l.Cloud.Put(me, bucket, k, []byte("overwritten"))
				if owner[k] == ksa {
					assert.NoError(t, getErr, "%s reads its own %s", ksa, k)
					continue
				}
				assert.ErrorContains(t, getErr, "403", "%s reads %s's %s", ksa, owner[k], k)
				assert.ErrorContains(t, putErr, "403", "%s overwrites %s's %s", ksa, owner[k], k)
			}
		}
	})

	if mixed != "" {
		t.Run("a step whose template names another account cannot archive its log, and errors as Argo's executor does", func(t *testing.T) {
			wf := l.finishedIn(t, mixedNS, mixed)
			assert.NotEqual(t, "Succeeded", wf.Status.Phase)
			played := l.Executor.Played(mixed)
			require.NotEmpty(t, played)
			for _, p := range played {
				assert.Equal(t, l.cfg.Identities[0].Name, p.ServiceAccount)
				assert.Contains(t, p.ArchiveError, "403", "its upload into %s's folder was refused", workflowKSA)
			}
			var errored int
			for _, n := range wf.Status.Nodes {
				if n.Type == "Pod" && n.Phase == "Error" && strings.Contains(n.Message, "wait:") && strings.Contains(n.Message, "403") {
					errored++
				}
			}
			assert.Equal(t, len(played), errored, "each attempt is an Error node naming the refused upload; nodes: %+v", wf.Status.Nodes)
			assert.Greater(t, len(played), 1, "an Error is retried (the workflow defaults' retry)")
		})
	}

	t.Run("a step whose command fails fails and is not retried", func(t *testing.T) {
		wf := l.finished(t, fails)
		assert.Equal(t, "Failed", wf.Status.Phase)
		assert.Len(t, l.Executor.Played(fails), 1, "one attempt only")
	})

	t.Run("a step preempted with its Spot node is retried and succeeds", func(t *testing.T) {
		wf := l.finished(t, preempted)
		assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
		played := l.Executor.Played(preempted)
		require.Len(t, played, 2, "the preempted attempt and its retry")
		assert.True(t, played[0].Outcome.Preempted)
		assert.False(t, played[1].Outcome.Preempted)
		var shutdown int
		for _, n := range wf.Status.Nodes {
			if n.Type == "Pod" && strings.Contains(n.Message, realargo.NodeShutdownMessage) {
				shutdown++
				assert.Equal(t, "Failed", n.Phase, "the kubelet fails a pod on node shutdown: a Failed node")
			}
		}
		assert.Equal(t, 1, shutdown, "the first attempt failed with the kubelet's node-shutdown message")
	})

	t.Run("memoization caches a step in a ConfigMap the controller writes", func(t *testing.T) {
		first := l.finished(t, memo1)
		assert.Equal(t, "Succeeded", first.Status.Phase, first.Status.Message)
		second := l.finished(t, l.submit(t, memo()))
		assert.Equal(t, "Succeeded", second.Status.Phase, second.Status.Message)
		assert.Empty(t, l.Executor.Played(second.Metadata.Name), "the cached step ran no pod")
		hit := false
		for _, n := range second.Status.Nodes {
			hit = hit || (n.MemoizationStatus != nil && n.MemoizationStatus.Hit)
		}
		assert.True(t, hit, "the second run hit the cache")
		// Argo v4 keeps memoization caches in the controller's namespace.
		_, err := cluster.Client.CoreV1().ConfigMaps(l.cfg.Argo.Namespace).Get(ctx, "e2e-memo-cache", metav1.GetOptions{})
		assert.NoError(t, err, "the controller created the cache ConfigMap")
	})

	t.Run("a step template over 128 KiB is offloaded to a ConfigMap and runs", func(t *testing.T) {
		wf := l.finished(t, large)
		assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
		cms, err := cluster.Client.CoreV1().ConfigMaps(l.ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + large})
		require.NoError(t, err)
		assert.NotEmpty(t, cms.Items, "the controller offloaded the template into a ConfigMap")
	})

	t.Run("a CronWorkflow fires", func(t *testing.T) {
		var fired string
		require.Eventually(t, func() bool {
			var list struct {
				Items []workflow `json:"items"`
			}
			q := url.Values{"listOptions.labelSelector": {"workflows.argoproj.io/cron-workflow=" + cronName}}
			if api(t, http.MethodGet, "/api/v1/workflows/"+l.ns+"?"+q.Encode(), nil, &list) != http.StatusOK || len(list.Items) == 0 {
				return false
			}
			fired = list.Items[0].Metadata.Name
			return true
		}, 150*time.Second, time.Second, "the CronWorkflow did not fire within two minutes")
		wf := l.finished(t, fired)
		assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
		archived = append(archived, fired)
	})

	t.Run("finished workflows are in the archive and served by the server", func(t *testing.T) {
		var rows string
		require.Eventually(t, func() bool {
			out, err := l.PG.SQL("postgres", "", stacks.NamesFor(l.cfg.Settings).Database,
				"SELECT name FROM argo_archived_workflows WHERE namespace = '"+l.ns+"' ORDER BY name;")
			rows = out
			if err != nil {
				return false
			}
			for _, name := range archived {
				if !strings.Contains(out, name) {
					return false
				}
			}
			return true
		}, time.Minute, time.Second, "archived rows: %s", rows)
		var list struct {
			Items []workflow `json:"items"`
		}
		require.Equal(t, http.StatusOK, api(t, http.MethodGet, "/api/v1/archived-workflows?namespace="+l.ns, nil, &list))
		var names []string
		for _, wf := range list.Items {
			names = append(names, wf.Metadata.Name)
		}
		for _, name := range archived {
			assert.Contains(t, names, name, "the server lists %s from the archive", name)
		}
		l.archived = archived
	})

	t.Run("the executor's reports were accepted with the executor account's token", func(t *testing.T) {
		assert.Empty(t, l.Executor.Errors())
	})

	t.Run("no permission errors; every warning is listed in the README", func(t *testing.T) {
		l.checkLogs(t)
	})

	t.Run("Argo's pods connect only where their egress policies allow", func(t *testing.T) {
		l.checkEgress(t, ctx)
	})

	// After checkLogs: the next subtest makes the controller log an error
	// on purpose.
	scope := monitoring.Scope{Cluster: stacks.NamesFor(l.cfg.Settings).Base, Namespace: l.cfg.Argo.Namespace, RunsPerDay: l.cfg.Argo.ArchivedRunsPerDay}
	t.Run("every metric and label the alerts and the dashboard read is one the real controller exports", func(t *testing.T) {
		m := scrapeMetrics(t)
		for _, q := range monitoring.Queries(scope) {
			for _, sel := range monitoring.Selectors(q) {
				name := sel.Metric
				if !monitoring.Argo(name) {
					continue // GKE's system metric: nothing here runs GKE
				}
				samples := m[name]
				if !assert.NotEmpty(t, samples, "%s: the controller exports no %s (Argo renamed it?)", q, name) {
					continue
				}
				for _, mt := range sel.Matchers {
					label, op, value := mt.Label, mt.Op, mt.Value
					if label == "cluster" || label == "namespace" {
						continue // Managed Prometheus's target labels
					}
					values := strings.Split(value, "|") // =~ "A|B": each alternative
					if op == "=" {
						values = []string{value}
					}
					for _, v := range values {
						assert.True(t, slices.ContainsFunc(samples, func(l map[string]string) bool { return l[label] == v }),
							"%s: no %s sample has %s=%q; it has %v", q, name, label, v, samples)
					}
				}
			}
		}
	})

	t.Run("a failed archive write is logged as the archive-failed alert matches it, and counted as an error", func(t *testing.T) {
		errors := func() float64 {
			for _, l := range scrapeMetrics(t)["argo_workflows_log_messages"] {
				if l["level"] == "error" {
					v, err := strconv.ParseFloat(l[""], 64)
					require.NoError(t, err)
					return v
				}
			}
			t.Fatal("no argo_workflows_log_messages{level=\"error\"}")
			return 0
		}
		before := errors()
		db := stacks.NamesFor(l.cfg.Settings).Database
		sql := func(stmt string) {
			out, err := l.PG.SQL("postgres", "", db, stmt)
			require.NoError(t, err, out)
		}
		sql("ALTER TABLE argo_archived_workflows RENAME TO e2e_archive_away;")
		restored := false
		restore := func() {
			if !restored {
				sql("ALTER TABLE e2e_archive_away RENAME TO argo_archived_workflows;")
				restored = true
			}
		}
		defer restore()
		name := l.submit(t, oneStep(unarchivedPrefix, "echo lost", nil))
		assert.Equal(t, "Succeeded", l.finished(t, name).Status.Phase)
		var line string
		require.Eventually(t, func() bool {
			for _, ln := range strings.Split(l.Controller.Log(), "\n") {
				var entry struct{ Level, Msg string }
				if strings.Contains(ln, name) && json.Unmarshal([]byte(ln), &entry) == nil &&
					entry.Msg == monitoring.ArchiveFailedMessage && strings.EqualFold(entry.Level, "error") {
					line = ln
					return true
				}
			}
			return false
		}, time.Minute, time.Second, "the controller did not log %q for %s; its log:\n%s", monitoring.ArchiveFailedMessage, name, l.Controller.Tail(20))
		t.Logf("the line the log-match alert (jsonPayload.msg) sees: %s", line)
		restore()
		assert.Greater(t, errors(), before, "argo_workflows_log_messages{level=\"error\"} counts it (the controller-errors alert)")
	})
}

// checkArchived checks where a step's log went: below its account's folder,
// at the date and names the real controller expanded in the key format.
func (l *liveArgo) checkArchived(t *testing.T, p realargo.Played, ksa, workflow string) {
	t.Helper()
	assert.Empty(t, p.ArchiveError)
	pattern := regexp.MustCompile(`^argo/` + regexp.QuoteMeta(ksa) + `/(\d{4}/\d{2}/\d{2})/` + regexp.QuoteMeta(workflow) + `/` + regexp.QuoteMeta(p.Pod) + `/main\.log$`)
	require.Len(t, p.Archived, 1, "its log")
	m := pattern.FindStringSubmatch(p.Archived[0])
	require.NotNil(t, m, "%s matches %s", p.Archived[0], pattern)
	// The workflow's creation day, in the controller's time zone.
	day, err := time.Parse("2006/01/02", m[1])
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), day, 48*time.Hour, "the key's date is the workflow's creation day")
	assert.Equal(t, []string{p.Archived[0]}, l.Cloud.Objects(stacks.NamesFor(l.cfg.Settings).Bucket, p.Archived[0]), "stored in the log bucket")
}

// unarchivedPrefix names the workflow the archive test keeps out of the
// archive on purpose.
const unarchivedPrefix = "e2e-unarchived-"

// A sample line of the Prometheus text format, and its labels.
var (
	sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
	labelRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrapeMetrics reads the real controller's /metrics (the port and path
// its ConfigMap sets, which the PodMonitoring scrapes): every sample's
// labels by metric name, the value under the label "".
func scrapeMetrics(t *testing.T) map[string][]map[string]string {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:9090/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string][]map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		m := sampleRe.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		labels := map[string]string{"": m[3]}
		for _, l := range labelRe.FindAllStringSubmatch(m[2], -1) {
			labels[l[1]] = l[2]
		}
		out[m[1]] = append(out[m[1]], labels)
	}
	return out
}

// Refused workflows are named after refusedPrefix; intruderKSA is an
// account the test creates in the workflow namespace by hand.
const (
	refusedPrefix = "e2e-refused-"
	intruderKSA   = "e2e-intruder"
)

// archivedWorkflows lists the archive in namespace ns through the server.
func archivedWorkflows(t *testing.T, ns string) map[string]string {
	t.Helper()
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
				UID  string `json:"uid"`
			} `json:"metadata"`
		} `json:"items"`
	}
	require.Equal(t, http.StatusOK, api(t, http.MethodGet, "/api/v1/archived-workflows?namespace="+ns, nil, &list))
	uids := map[string]string{}
	for _, wf := range list.Items {
		uids[wf.Metadata.Name] = wf.Metadata.UID
	}
	return uids
}

// permissionError matches what a refused API call or database statement
// looks like in Argo's logs.
var permissionError = regexp.MustCompile(`(?i)forbidden|permission denied|unauthorized|cannot (get|list|watch|create|update|patch|delete) resource`)

// checkLogs reads the controller's and the server's logs: no line may show
// a refused permission, and every warning must be one the README lists
// (section "Warnings Argo prints") with why it is acceptable.
func (l *liveArgo) checkLogs(t *testing.T) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(tests.RepoRoot(), "README.md"))
	require.NoError(t, err)
	_, listed, _ := strings.Cut(string(readme), "### Warnings Argo prints")
	listed, _, _ = strings.Cut(listed, "\n## ")
	for _, c := range []*realargo.Component{l.Controller, l.Server} {
		for _, line := range strings.Split(c.Log(), "\n") {
			if line == "" {
				continue
			}
			if strings.Contains(line, refusedPrefix) {
				// The refusals the test asked for: the API server refused
				// these workflows' pods, as it should.
				continue
			}
			assert.NotRegexp(t, permissionError, line, "%s logged a permission error", c.Name)
			var entry struct {
				Level string `json:"level"`
				Msg   string `json:"msg"`
			}
			if json.Unmarshal([]byte(line), &entry) != nil {
				continue
			}
			if lvl := strings.ToLower(entry.Level); strings.HasPrefix(lvl, "warn") || lvl == "error" || lvl == "fatal" {
				assert.Contains(t, listed, "`"+entry.Msg+"`", "%s printed a %s the README does not list:\n%s", c.Name, entry.Level, line)
			}
		}
	}
}

// checkRestore rehearses docs/operations.md's "Recover the database": a
// backup of the archive database is taken while a workflow runs, the
// database is then lost and restored from it, and Argo comes back on it
// without the grant Jobs (Pulumi does not run them again after a restore).
// The real server lists every workflow archived before the backup with its
// uid, the one archived after it is gone (the history newer than the
// restore point, as the docs say), and the workflow that was running
// finishes and is archived: the grants came back with the data.
//
// What it does not rehearse: Cloud SQL's own backup and restore commands
// (the dump plays the backup: the whole database with its owners and
// grants), and a restore into a new instance.
func (l *liveArgo) checkRestore(t *testing.T, ctx context.Context) {
	db := stacks.NamesFor(l.cfg.Settings).Database
	// A workflow that stays Running (a suspend node, no pod) until resumed.
	running := l.submit(t, map[string]any{
		"metadata": map[string]any{"generateName": "across-restore-"},
		"spec": map[string]any{"entrypoint": "main", "templates": []any{
			map[string]any{"name": "main", "steps": []any{
				[]any{map[string]any{"name": "wait", "template": "wait"}},
				[]any{map[string]any{"name": "after", "template": "after"}},
			}},
			map[string]any{"name": "wait", "suspend": map[string]any{}},
			map[string]any{"name": "after", "container": map[string]any{"image": "busybox:1.36", "command": []string{"sh", "-c", "echo resumed"}}},
		}},
	})
	require.Eventually(t, func() bool {
		var wf workflow
		return api(t, http.MethodGet, "/api/v1/workflows/"+l.ns+"/"+running, nil, &wf) == http.StatusOK && wf.Status.Phase == "Running"
	}, time.Minute, 250*time.Millisecond, "%s runs", running)

	before := archivedWorkflows(t, l.ns)
	require.NotEmpty(t, before, "check archived workflows before the backup")
	dump := filepath.Join(t.TempDir(), "archive.dump")
	require.NoError(t, l.PG.Dump(db, dump), "the backup, taken while %s runs", running)

	// Archived after the backup: the restore loses it.
	later := l.finished(t, l.submit(t, oneStep("after-backup-", "echo later", nil)))
	require.Equal(t, "Succeeded", later.Status.Phase)
	l.awaitArchived(t, later.Metadata.Name, "after the backup")

	l.StopArgo()
	require.NoError(t, l.PG.Restore(db, dump), "the restore")
	require.NoError(t, l.StartArgo(ctx, l.options(t), l.cfg, decide))
	signedIn = l.Session

	after := archivedWorkflows(t, l.ns)
	for name, uid := range before {
		assert.Equal(t, uid, after[name], "%s, archived before the backup, is listed again with its uid", name)
	}
	assert.NotContains(t, after, later.Metadata.Name, "archived after the backup: newer than the restore point")

	require.Equal(t, http.StatusOK, api(t, http.MethodPut, "/api/v1/workflows/"+l.ns+"/"+running+"/resume",
		map[string]any{"name": running, "namespace": l.ns}, nil))
	wf := l.finished(t, running)
	assert.Equal(t, "Succeeded", wf.Status.Phase, "the workflow that ran across the restore finishes: %s", wf.Status.Message)
	l.awaitArchived(t, running, "into the restored database (the controller's grants came back)")
	l.checkLogs(t)
}

// awaitArchived waits until the server lists workflow name in the archive;
// where says which archive, for the failure's message.
func (l *liveArgo) awaitArchived(t *testing.T, name, where string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, ok := archivedWorkflows(t, l.ns)[name]
		return ok
	}, time.Minute, time.Second, "%s is archived %s", name, where)
}
