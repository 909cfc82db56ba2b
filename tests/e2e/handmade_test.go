//go:build e2e

package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// handMadeTemplate creates, as a team would by hand, a WorkflowTemplate
// named hand-made in ns, and returns the client of ns's WorkflowTemplates.
func handMadeTemplate(t *testing.T, ctx context.Context, ns string) dynamic.ResourceInterface {
	t.Helper()
	client, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	templates := client.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtemplates"}).Namespace(ns)
	_, err = templates.Create(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
		"metadata": map[string]any{"name": "hand-made"},
		"spec": map[string]any{"entrypoint": "main", "templates": []any{map[string]any{
			"name": "main", "container": map[string]any{"image": "busybox", "command": []any{"true"}},
		}}},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)
	return templates
}
