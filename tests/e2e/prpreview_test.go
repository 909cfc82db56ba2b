//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/argo-platform/argo-platform/bootstrap/trust"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
)

// asUser is kubeconfig acting as user: the same cluster, the admin's
// credentials impersonating user, as GKE authenticates a Google account and
// then authorizes that account alone.
func asUser(kubeconfig, user string) string {
	return strings.Replace(kubeconfig, "  user:\n    token:", "  user:\n    as: "+user+"\n    token:", 1)
}

// checkPullRequestPreview runs, as a pull request's previewer would, a real
// preview of stack s (deployed with cfg) with one setting changed, and the
// requests that previewer's code could make of the cluster. The previewer
// holds Kubernetes Engine Cluster Viewer and no RBAC binding
// (trust.PullRequestRoles): the preview still shows the Kubernetes side's
// change (the provider falls back to a client-side diff when its dry run is
// forbidden), and the same identity can change nothing, read no Secret and
// exec into no pod. What it does not show: GKE's own mapping of IAM roles to
// Kubernetes rights (Cluster Viewer holds none on objects, by Google's
// roles reference), which a local API server cannot play.
func checkPullRequestPreview(t *testing.T, ctx context.Context, s auto.Stack, stack string, cfg *stacks.Loaded) {
	user := trust.AccountID(stack, trust.PullRequest) + "@acme-argo-admin.iam.gserviceaccount.com"
	changed, err := stackSettings(stack, func(a map[string]any) { a["parallelism"] = cfg.Argo.Parallelism + 1 })
	require.NoError(t, err)
	ws := s.Workspace().(*auto.LocalWorkspace)
	ws.SetProgram(localdeploy.Program(changed, asUser(cluster.KubeconfigText, user)))
	defer ws.SetProgram(localdeploy.Program(cfg, cluster.KubeconfigText))

	var out bytes.Buffer
	res, err := s.Preview(ctx, optpreview.Diff(), optpreview.ProgressStreams(&out))
	require.NoError(t, err, "the preview runs with no right in the cluster:\n%s", out.String())
	assert.Positive(t, res.ChangeSummary[apitype.OpUpdate], "the preview shows updates: %v", res.ChangeSummary)
	change := regexp.MustCompile(fmt.Sprintf(`parallelism\s*:\s*"%d"\s*=>\s*"%d"`, cfg.Argo.Parallelism, cfg.Argo.Parallelism+1))
	assert.Regexp(t, change, out.String(), "the controller's ConfigMap change is in the diff")
	assert.Zero(t, res.ChangeSummary[apitype.OpDelete]+res.ChangeSummary[apitype.OpReplace], "a change of who previews replaces nothing: %v", res.ChangeSummary)
	assert.NotContains(t, out.String(), cfg.DatabaseAdminPassword, "no secret is printed")

	checkChangesNothing(t, ctx, user, cfg)

	ns := cfg.Argo.Namespace
	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(cfg.Argo.Parallelism), cm.Data["parallelism"], "the preview changed nothing")
}

// checkChangesNothing makes, as user, the requests a previewer's code could
// make to change the cluster or read its secrets, and asserts that the real
// API server refuses each: a pod started as the controller (also as a dry
// run, whose answer would echo what it may not read), the database admin's
// Secret, the workflow namespace's Secrets, a patch of the controller's
// ConfigMap and an exec into a running pod.
func checkChangesNothing(t *testing.T, ctx context.Context, user string, cfg *stacks.Loaded) {
	t.Helper()
	rc := rest.CopyConfig(cluster.Config)
	rc.Impersonate = rest.ImpersonationConfig{UserName: user}
	as, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	ns, wfNS := cfg.Argo.Namespace, cfg.Argo.WorkflowNamespace
	forbidden := func(what string, err error) {
		t.Helper()
		assert.True(t, apierrors.IsForbidden(err), "%s is refused: %v", what, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "preview-probe"},
		Spec:       corev1.PodSpec{ServiceAccountName: "argo-workflow-controller", Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	_, err = as.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	forbidden("creating a pod as the controller", err)
	_, err = as.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	forbidden("a dry-run create, whose answer would echo what it may not read", err)
	_, err = as.CoreV1().Secrets(ns).Get(ctx, "argo-db-admin", metav1.GetOptions{})
	forbidden("reading the database admin's Secret", err)
	_, err = as.CoreV1().Secrets(wfNS).List(ctx, metav1.ListOptions{})
	forbidden("listing the workflow namespace's Secrets", err)
	_, err = as.CoreV1().ConfigMaps(ns).Patch(ctx, "workflow-controller-configmap", "application/merge-patch+json", []byte(`{"data":{"x":"y"}}`), metav1.PatchOptions{})
	forbidden("patching the controller's ConfigMap", err)
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	exec := as.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(pods.Items[0].Name).SubResource("exec").
		Param("command", "sh").Param("stdout", "true").Do(ctx).Error()
	forbidden("exec into "+pods.Items[0].Name, exec)
}

// kubernetesEngineViewer plays, for ServiceAccount ns/name, what GKE's IAM
// role Viewer (roles/viewer, with Kubernetes Engine Viewer's permissions)
// lets an account do inside the cluster: get, list and watch every kind
// the API server serves but Secrets, in every namespace. It is a
// ClusterRole built from the API server's discovery; it does not check
// GKE's exact permission list (Google's roles reference says Viewer reads
// every object but Secrets; a local API server cannot play IAM). It
// returns the account's user name and a token for it.
func kubernetesEngineViewer(t *testing.T, ctx context.Context, ns, name string) (string, string) {
	t.Helper()
	lists, err := cluster.Client.Discovery().ServerPreferredResources()
	require.NoError(t, err)
	var rules []rbacv1.PolicyRule
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		require.NoError(t, err)
		for _, r := range l.APIResources {
			if r.Name == "secrets" || strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "get") {
				continue
			}
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{gv.Group}, Resources: []string{r.Name}, Verbs: []string{"get", "list", "watch"}})
		}
	}
	require.NotEmpty(t, rules)
	core, rbac := cluster.Client.CoreV1(), cluster.Client.RbacV1()
	_, err = core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = core.ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	role := "gke-viewer-" + name
	_, err = rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		bg := context.Background()
		_ = rbac.ClusterRoleBindings().Delete(bg, role, metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(bg, role, metav1.DeleteOptions{})
		_ = core.ServiceAccounts(ns).Delete(bg, name, metav1.DeleteOptions{})
		_ = core.Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
	})
	tok, err := core.ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	require.NoError(t, err)
	return "system:serviceaccount:" + ns + ":" + name, tok.Status.Token
}

// tokenEnv is the environment variable the ambient kubeconfig reads its
// token from.
const tokenEnv = "E2E_KUBE_TOKEN"

// ambientKubeconfig is the cluster's kubeconfig with its credentials taken
// from whoever runs it, as GKE's (gke-gcloud-auth-plugin, an exec plugin)
// takes the runner's Google identity: the token comes from $E2E_KUBE_TOKEN
// at each use, so the same state serves a deployer and a previewer.
func ambientKubeconfig(t *testing.T) (string, string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^    token: (\S+)$`).FindStringSubmatch(cluster.KubeconfigText)
	require.NotNil(t, m, "the admin kubeconfig carries a token")
	exec := `    exec:
      apiVersion: client.authentication.k8s.io/v1
      interactiveMode: Never
      command: sh
      args:
      - -c
      - printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$` + tokenEnv + `"`
	return strings.Replace(cluster.KubeconfigText, m[0], exec, 1), m[1]
}

// checkMainPreview runs, as main's previewer (trust.PreviewerRoles: Viewer,
// no write, no Secret), the drift check of drift.yml and the preview
// deploy.yml shows before production's approval. The stack is first
// deployed with a kubeconfig whose credentials come from the environment,
// as GKE's do, so the refresh (which reads with the provider as the state
// holds it) acts as whoever runs it. Run as the previewer with
// trust.DriftRefreshFlags: a hand edit of a value Pulumi sets is the one
// drift found; once undone, none (--expect-no-changes passes); without the
// Secrets' exclusion the refresh fails on the first Secret it may not
// read. The plain preview runs too, and the previewer changes nothing,
// reads no Secret and execs into no pod.
func checkMainPreview(t *testing.T, ctx context.Context, s auto.Stack, stack string, cfg *stacks.Loaded) {
	user, token := kubernetesEngineViewer(t, ctx, "previewers", trust.AccountID(stack, trust.Previewer))
	ambient, admin := ambientKubeconfig(t)
	ws := s.Workspace().(*auto.LocalWorkspace)
	as := func(tok string) { ws.SetEnvVar(tokenEnv, tok) }
	as(admin)
	ws.SetProgram(localdeploy.Program(cfg, ambient))
	var out bytes.Buffer
	_, err := s.Up(ctx, optup.ProgressStreams(&out))
	require.NoError(t, err, "the deployer's kubeconfig takes its identity from the environment:\n%s", out.String())
	defer func() {
		as(admin)
		ws.SetProgram(localdeploy.Program(cfg, cluster.KubeconfigText))
		_, err := s.Up(ctx)
		assert.NoError(t, err, "the stack goes back to the admin's kubeconfig")
		ws.UnsetEnvVar(tokenEnv)
	}()
	as(token)

	// refresh runs the drift check's refresh with flags and returns the
	// resources its diff would update.
	refresh := func(flags []string, out *bytes.Buffer) ([]string, error) {
		var opts []optrefresh.Option
		for i := 0; i < len(flags); i++ {
			switch flags[i] {
			case "--preview-only": // PreviewRefresh
			case "--expect-no-changes":
				opts = append(opts, optrefresh.ExpectNoChanges())
			case "--exclude":
				i++
				opts = append(opts, optrefresh.Exclude([]string{flags[i]}))
			default:
				t.Fatalf("the drift check's flag %s is not played here", flags[i])
			}
		}
		opts = append(opts, optrefresh.ProgressStreams(out), optrefresh.Diff())
		_, err := s.PreviewRefresh(ctx, opts...)
		var changed []string
		for _, m := range regexp.MustCompile(`~ \S+: \(update\)\s+\[id=[^\]]*\]\s+\[urn=([^\]]+)\]`).FindAllStringSubmatch(out.String(), -1) {
			changed = append(changed, m[1])
		}
		return changed, err
	}

	// A hand edit of a value Pulumi sets (a refresh under server-side
	// apply reads only the fields Pulumi manages), undone afterwards with
	// the object's field ownership as it was, so later deploys meet no
	// other field manager.
	cms := cluster.Client.CoreV1().ConfigMaps(cfg.Argo.Namespace)
	before, err := cms.Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	edited := before.DeepCopy()
	edited.Data["parallelism"] = fmt.Sprint(cfg.Argo.Parallelism + 7)
	_, err = cms.Update(ctx, edited, metav1.UpdateOptions{FieldManager: "hand-edit"})
	require.NoError(t, err)
	undone := false
	undo := func() {
		if undone {
			return
		}
		undone = true
		now, err := cms.Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
		require.NoError(t, err)
		now.Data = before.Data
		now, err = cms.Update(ctx, now, metav1.UpdateOptions{FieldManager: "hand-edit"})
		require.NoError(t, err)
		// Setting managedFields alone replaces them.
		now.ManagedFields = before.ManagedFields
		_, err = cms.Update(ctx, now, metav1.UpdateOptions{FieldManager: "hand-edit"})
		require.NoError(t, err)
	}
	defer undo()

	out.Reset()
	changed, err := refresh(trust.DriftRefreshFlags, &out)
	undo()
	require.Error(t, err, "--expect-no-changes fails the drift check:\n%s", out.String())
	assert.Equal(t, 1, len(changed), "the hand edit is the one drift:\n%s", out.String())
	if len(changed) > 0 {
		assert.Contains(t, changed[0], "workflow-controller-configmap", "the drift names what changed")
	}
	assert.NotContains(t, strings.ToLower(out.String()), "forbidden", "the previewer read all it refreshed")
	after, err := cms.Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	var managers []string
	for _, f := range after.ManagedFields {
		managers = append(managers, f.Manager)
	}
	assert.NotContains(t, managers, "hand-edit", "the edit's field ownership is undone")

	out.Reset()
	changed, err = refresh(trust.DriftRefreshFlags, &out)
	require.NoError(t, err, "no drift once the edit is undone:\n%s", out.String())
	assert.Empty(t, changed)
	assert.NotContains(t, out.String(), cfg.DatabaseAdminPassword, "no secret is printed")

	out.Reset()
	var without []string
	for i := 0; i < len(trust.DriftRefreshFlags); i++ {
		if trust.DriftRefreshFlags[i] == "--exclude" {
			i++
			continue
		}
		without = append(without, trust.DriftRefreshFlags[i])
	}
	_, err = refresh(without, &out)
	require.Error(t, err, "the previewer may not read the Secrets a refresh of everything reads:\n%s", out.String())
	assert.Contains(t, strings.ToLower(out.String()+err.Error()), "forbidden")

	out.Reset()
	res, err := s.Preview(ctx, optpreview.ProgressStreams(&out))
	require.NoError(t, err, "main's preview runs with reads alone:\n%s", out.String())
	for op, n := range res.ChangeSummary {
		assert.Equal(t, apitype.OpSame, op, "%d resource(s) would %s", n, op)
	}

	checkChangesNothing(t, ctx, user, cfg)
}
