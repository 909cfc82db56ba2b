//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		ObjectMeta: metav1.ObjectMeta{Name: "pr-preview-probe"},
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

	cm, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(cfg.Argo.Parallelism), cm.Data["parallelism"], "the preview changed nothing")
}
