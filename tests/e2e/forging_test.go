//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// checkForging plays a step of workflow identity wi that got hold of its
// wait container's token (the wait container reads an output's path the
// step chooses, and the token is a file of the wait container), on the real
// API server and the real controller: it reports for a running workflow of
// the workflow namespace, and for one of its own account. The first is
// refused or ignored, the second taken: Argo trusts a result for the
// workflows of its own namespace, and each account runs in its own.
func (l *liveArgo) checkForging(t *testing.T, ctx context.Context, wi stacks.Identity) {
	ns := stacks.IdentityNamespace(l.cfg.Settings, wi)
	// Both victims run until released, so the controller is still
	// reading results for them when the forged ones arrive.
	holdOther, releaseOther := hold("other-account-" + l.cfg.Environment)
	holdSame, releaseSame := hold("same-account-" + l.cfg.Environment)
	defer releaseOther()
	defer releaseSame()
	other := l.submit(t, oneStep("other-account-", "echo real", holdOther))
	sameWf := oneStep("same-account-", "echo real", holdSame)
	sameWf["spec"].(map[string]any)["serviceAccountName"] = wi.Name
	same := l.submitIn(t, ns, sameWf)
	running := func(ns, wf string) bool {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wf})
		return err == nil && len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning
	}
	require.Eventually(t, func() bool { return running(l.ns, other) && running(ns, same) }, 2*time.Minute, 250*time.Millisecond,
		"both steps run; controller log:\n%s", l.Controller.Tail(20))

	// The token a step of wi holds once its wait container published it.
	secret, err := cluster.Client.CoreV1().Secrets(ns).Get(ctx, argo.ExecutorTokenSecret, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, secret.Data["token"])
	client, err := dynamic.NewForConfig(&rest.Config{Host: cluster.Server, BearerToken: string(secret.Data["token"]), TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	require.NoError(t, err)
	// A one-step workflow's node id is its name; the result says the step
	// succeeded with an output it never wrote.
	forged := func(wf string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1",
			"kind":       "WorkflowTaskResult",
			"metadata": map[string]any{
				"name":   wf,
				"labels": map[string]any{"workflows.argoproj.io/workflow": wf, "workflows.argoproj.io/report-outputs-completed": "true"},
			},
			"outputs": map[string]any{
				"exitCode":   "0",
				"parameters": []any{map[string]any{"name": "forged", "value": "by a step of " + wi.Name}},
			},
		}}
	}
	_, err = client.Resource(realargo.TaskResults).Namespace(l.ns).Create(ctx, forged(other), metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "the token writes results in its own namespace only: %v", err)
	_, err = client.Resource(realargo.TaskResults).Namespace(ns).Create(ctx, forged(other), metav1.CreateOptions{})
	require.NoError(t, err, "in its own namespace it may write a result naming any workflow")
	defer func() {
		if admin, err := dynamic.NewForConfig(cluster.Config); err == nil {
			_ = admin.Resource(realargo.TaskResults).Namespace(ns).Delete(ctx, other, metav1.DeleteOptions{})
		}
	}()
	_, err = client.Resource(realargo.TaskResults).Namespace(ns).Create(ctx, forged(same), metav1.CreateOptions{})
	require.NoError(t, err)

	forgedOutput := func(wf workflow, node string) bool {
		n, ok := wf.Status.Nodes[node]
		if !ok || n.Outputs == nil {
			return false
		}
		for _, p := range n.Outputs.Parameters {
			if p.Name == "forged" {
				return true
			}
		}
		return false
	}
	// What closes the hole is Argo's: the controller takes the forged
	// result for the workflow of the forger's own account (which runs as
	// wi, as the forger does: nothing gained), so it did read the results
	// the forger wrote...
	require.Eventually(t, func() bool {
		var wf workflow
		return api(t, http.MethodGet, "/api/v1/workflows/"+ns+"/"+same, nil, &wf) == http.StatusOK && forgedOutput(wf, same)
	}, time.Minute, 250*time.Millisecond, "the controller reads results of the forger's own namespace")
	// ... and never for the other account's, in another namespace: not
	// while its step runs, over a change to it (which the controller
	// reconciles at once) and two of the controller's requeues, and not
	// once it ended.
	admin, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	workflows := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}
	_, err = admin.Resource(workflows).Namespace(l.ns).Patch(ctx, other, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"e2e.argo-platform.dev/poke":"1"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	watch := time.Duration(2*l.cfg.Argo.RequeueSeconds)*time.Second + 3*time.Second
	for deadline := time.Now().Add(watch); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var wf workflow
		require.Equal(t, http.StatusOK, api(t, http.MethodGet, "/api/v1/workflows/"+l.ns+"/"+other, nil, &wf))
		require.False(t, forgedOutput(wf, other), "a result written in %s changed a workflow of %s: %+v", ns, l.ns, wf.Status.Nodes[other])
	}
	releaseOther()
	wf := l.finished(t, other)
	assert.Equal(t, "Succeeded", wf.Status.Phase, wf.Status.Message)
	assert.False(t, forgedOutput(wf, other))
	played := l.Executor.Played(other)
	require.Len(t, played, 1, "its own step reported for it")
	releaseSame()
	l.finishedIn(t, ns, same)
}
