package perf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/tests"
)

// The modelled targets are deterministic (a graph and a ConfigMap, no
// clock), so a regression fails here as well as in `make perf`.
func TestTargets(t *testing.T) {
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			r, err := Analyze(stack)
			require.NoError(t, err)
			assert.LessOrEqual(t, r.Ratio, MaxPathRatio, "critical path %v over lower bound %v", r.Critical.Seconds, r.LowerBound.Seconds)
			assert.GreaterOrEqual(t, r.CPUFactor(), MinOverheadFactor)
			assert.GreaterOrEqual(t, r.MemoryFactor(), MinOverheadFactor)
			assert.True(t, r.AboveMinimums)
			assert.Greater(t, r.Critical.Seconds, 600.0, "the path includes the Cloud SQL instance")
		})
	}
}

func node(urn, typ string, secs float64, waits ...string) *Node {
	return &Node{URN: urn, Type: typ, Name: urn, Seconds: secs, Waits: waits}
}

func TestLongestAndLowerBound(t *testing.T) {
	g := Graph{
		"api":     node("api", "gcp:projects/service:Service", 30),
		"net":     node("net", "gcp:compute/network:Network", 25, "api"),
		"bucket":  node("bucket", "gcp:storage/bucket:Bucket", 5, "api"),
		"cluster": node("cluster", "gcp:container/cluster:Cluster", 480, "api", "net"),
		// A needless wait: the database instance on the cluster.
		"sql": node("sql", "gcp:sql/databaseInstance:DatabaseInstance", 600, "api", "net", "cluster"),
	}
	p := g.Longest(nil)
	assert.Equal(t, 30.0+25+480+600, p.Seconds)
	require.Len(t, p.Nodes, 4)
	assert.Equal(t, "sql", p.Nodes[3].URN)
	lb := g.Longest(Required)
	assert.Equal(t, 30.0+25+600, lb.Seconds, "the cluster wait is not required")
	assert.Equal(t, 4, g.Depth())
}

// The cost model prices the stack's own region, from its own row, or says
// it has none: never another region's figures.
func TestStepCostUsesTheStacksRegion(t *testing.T) {
	r, err := Analyze("staging")
	require.NoError(t, err)
	_, _, _, ok := r.StepCost()
	_, onRecord := AutopilotPrices[r.Settings.Region]
	assert.Equal(t, onRecord, ok, "priced only from %s's own row", r.Settings.Region)
	for region, p := range AutopilotPrices {
		r.Settings.Region = region
		regular, spot, got, ok := r.StepCost()
		require.True(t, ok)
		assert.Equal(t, p.Source, got.Source)
		assert.NotEmpty(t, p.Source, "%s says where its prices come from", region)
		assert.Less(t, spot, regular)
		saving := 1 - spot/regular
		assert.True(t, saving >= 0.60 && saving <= 0.91, "%s: a Spot saving of %.0f%% is outside Google's 60-91%%", region, saving*100)
	}
	r.Settings.Region = "nowhere-north1"
	_, _, _, ok = r.StepCost()
	assert.False(t, ok)
}
