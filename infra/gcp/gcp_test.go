package gcp

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKubeconfigIsStableAndHoldsNoToken(t *testing.T) {
	a, err := Kubeconfig("argo-staging", "34.1.2.3", "Q0FDRVJU")
	require.NoError(t, err)
	b, err := Kubeconfig("argo-staging", "34.1.2.3", "Q0FDRVJU")
	require.NoError(t, err)
	assert.Equal(t, a, b, "same cluster, same text: the provider is not replaced")

	var cfg struct {
		Clusters []struct {
			Cluster map[string]string `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User map[string]any `json:"user"`
		} `json:"users"`
	}
	require.NoError(t, json.Unmarshal([]byte(a), &cfg))
	require.Len(t, cfg.Clusters, 1)
	assert.Equal(t, "https://34.1.2.3", cfg.Clusters[0].Cluster["server"])
	assert.Equal(t, "Q0FDRVJU", cfg.Clusters[0].Cluster["certificate-authority-data"])
	require.Len(t, cfg.Users, 1)
	exec, ok := cfg.Users[0].User["exec"].(map[string]any)
	require.True(t, ok, "the user authenticates with an exec plugin")
	assert.Equal(t, "gke-gcloud-auth-plugin", exec["command"])
	assert.NotContains(t, cfg.Users[0].User, "token")

	c, err := Kubeconfig("argo-staging", "34.9.9.9", "Q0FDRVJU")
	require.NoError(t, err)
	assert.NotEqual(t, a, c)
}

func TestWorkloadIdentityMember(t *testing.T) {
	assert.Equal(t, "serviceAccount:acme.svc.id.goog[argo/argo-server]", WorkloadIdentityMember("acme", "argo", "argo-server"))
}

func TestRoleSuffix(t *testing.T) {
	assert.Equal(t, "cloudsql-instanceuser", roleSuffix("roles/cloudsql.instanceUser"))
	assert.Equal(t, "storage-objectviewer", roleSuffix(BucketReaderRole))
}
