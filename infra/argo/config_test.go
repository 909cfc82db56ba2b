package argo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func params() ConfigParams {
	return ConfigParams{
		Bucket: "p-argo-logs-staging", Database: "argo", ClusterName: "argo-staging",
		UserSecret: "argo-postgres-workflow-controller", WorkflowKSA: "argo-workflow",
		Throughput:     Throughput{Parallelism: 20, NamespaceParallelism: 10, PodsPerSecond: 2.5, PodBurst: 20},
		ArchiveTTLDays: 30, WorkflowTTLHours: 24, SpotSteps: true,
	}
}

func TestDataHasOneEntryPerKeyAndRoundTrips(t *testing.T) {
	data, err := NewControllerConfig(params()).Data()
	require.NoError(t, err)
	assert.Equal(t, "20", data["parallelism"], "scalars are plain")
	assert.NotContains(t, data, "links", "an empty list is left out")
	assert.NotContains(t, data, "config", "one entry per key, never a single config entry")
	for _, removed := range RemovedKeys {
		assert.NotContains(t, data, removed)
	}
	var rate RateLimit
	require.NoError(t, yaml.Unmarshal([]byte(data["resourceRateLimit"]), &rate))
	assert.Equal(t, RateLimit{Limit: 2.5, Burst: 20}, rate)

	var p Persistence
	dec := yaml.NewDecoder(strings.NewReader(data["persistence"]))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&p))
	assert.Equal(t, "30d", p.ArchiveTTL)
	assert.Equal(t, "argo-postgres-workflow-controller", p.PostgreSQL.UserNameSecret.Name)
	assert.Equal(t, "argo-postgres-workflow-controller", p.PostgreSQL.PasswordSecret.Name)
	assert.True(t, strings.Contains(data["persistence"], "nodeStatusOffLoad: true"), "Argo's exact key spelling")
}

func TestSpotIsADefaultOnlyWhenAsked(t *testing.T) {
	on := NewControllerConfig(params()).WorkflowDefaults.Spec
	assert.Equal(t, "true", on.NodeSelector["cloud.google.com/gke-spot"])
	p := params()
	p.SpotSteps = false
	off := NewControllerConfig(p).WorkflowDefaults.Spec
	assert.Empty(t, off.NodeSelector)
	require.NotNil(t, off.RetryStrategy, "preemption-safe retries stay on for opt-in Spot workflows")
	assert.Equal(t, 24*3600, off.TTLStrategy.SecondsAfterCompletion)
}

func TestLinksAreRendered(t *testing.T) {
	p := params()
	p.Links = []Link{{Name: "Pod logs", Scope: "pod", URL: "https://example.com/${metadata.name}"}}
	data, err := NewControllerConfig(p).Data()
	require.NoError(t, err)
	var links []Link
	require.NoError(t, yaml.Unmarshal([]byte(data["links"]), &links))
	assert.Equal(t, p.Links, links)
}

// Argo joins the entries into one document; every generated ConfigMap must
// read back, through that rule, as the configuration it was made from.
func TestDataReadsBackThroughArgosJoiningRule(t *testing.T) {
	for _, spot := range []bool{true, false} {
		p := params()
		p.SpotSteps = spot
		p.Links = []Link{{Name: "Pod logs", Scope: "pod", URL: "https://example.com/${metadata.name}"}}
		want := NewControllerConfig(p)
		data, err := want.Data()
		require.NoError(t, err)
		got, err := ParseData(data)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestJoiningRule(t *testing.T) {
	doc, err := JoinData(map[string]string{"parallelism": "20", "nodeEvents": "enabled: true\n"})
	require.NoError(t, err)
	assert.Equal(t, "nodeEvents:\n  enabled: true\nparallelism: 20\n", doc)

	// A one-line mapping lands on its key's line: what Argo refuses.
	_, err = ParseData(map[string]string{"nodeEvents": "enabled: true"})
	assert.Error(t, err)

	_, err = JoinData(map[string]string{"config": "parallelism: 1\n", "parallelism": "2"})
	assert.Error(t, err, "a config entry must be alone")
	_, err = ParseData(map[string]string{"containerRuntimeExecutor": "emissary"})
	assert.Error(t, err, "removed keys are refused, as Argo refuses them")
}
