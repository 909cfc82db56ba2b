// Package promql parses every PromQL expression of the alerts and the
// dashboard (infra/monitoring) with Prometheus's own parser. A module of
// its own: Prometheus's dependencies stay out of the program's go.mod.
package promql

import (
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/monitoring"
)

var scope = monitoring.Scope{Cluster: "argo-staging", Namespace: "argo", RunsPerDay: 200}

// promQL is Prometheus's parser with its default options (no
// experimental functions: Cloud Monitoring's PromQL has the stable set).
var promQL = parser.NewParser(parser.Options{})

// selectors are the vector selectors of expr, in order.
func selectors(expr parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// Every expression parses, reads only the stack's own controller (its
// cluster and namespace, as Managed Prometheus labels them), and the
// metric names monitoring.Metrics finds (which the e2e checks against the
// real controller's /metrics) are exactly the ones Prometheus reads.
func TestEveryAlertAndChartQueryIsPromQLScopedToTheStack(t *testing.T) {
	queries := monitoring.Queries(scope)
	require.NotEmpty(t, queries)
	for _, q := range queries {
		expr, err := promQL.ParseExpr(q)
		if !assert.NoError(t, err, "%s", q) {
			continue
		}
		var names []string
		var parsed []monitoring.Selector
		for _, vs := range selectors(expr) {
			names = append(names, vs.Name)
			matches := map[string]string{}
			sel := monitoring.Selector{Metric: vs.Name}
			for _, m := range vs.LabelMatchers {
				if m.Type == labels.MatchEqual {
					matches[m.Name] = m.Value
				}
				if m.Name != labels.MetricName {
					sel.Matchers = append(sel.Matchers, monitoring.Matcher{Label: m.Name, Op: m.Type.String(), Value: m.Value})
				}
			}
			parsed = append(parsed, sel)
			// A scraped target's labels are cluster and namespace (Managed
			// Prometheus); a GKE system metric's are its monitored
			// resource's, cluster_name and namespace_name.
			cluster, namespace := "cluster", "namespace"
			if !monitoring.Argo(vs.Name) {
				cluster, namespace = "cluster_name", "namespace_name"
			}
			assert.Equal(t, scope.Cluster, matches[cluster], "%s: %s reads only this stack's cluster", q, vs.Name)
			assert.Equal(t, scope.Namespace, matches[namespace], "%s: %s reads only Argo's namespace", q, vs.Name)
		}
		// The e2e reads selectors with monitoring.Selectors: it must read
		// what Prometheus reads, metric names, matchers and all.
		assert.Equal(t, parsed, monitoring.Selectors(q), "%s", q)
		slices.Sort(names)
		assert.Equal(t, slices.Compact(names), monitoring.Metrics(q), "%s", q)
	}
}

// The check above can fail: the parser refuses a broken expression, and a
// selector outside the stack is seen.
func TestTheParserRefusesBrokenPromQL(t *testing.T) {
	_, err := promQL.ParseExpr(`sum(rate(argo_workflows_gauge{cluster="a"}[5m])`)
	assert.Error(t, err)
	expr, err := promQL.ParseExpr(`sum(argo_workflows_gauge) > 0`)
	require.NoError(t, err)
	assert.Empty(t, selectors(expr)[0].LabelMatchers[1:], "no cluster or namespace matcher")
}

// Each alert has exactly one condition, and names are unique (they are
// part of the resources' names).
func TestEveryAlertHasOneConditionAndAUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range monitoring.Alerts(scope) {
		assert.False(t, seen[a.Name], "alert %s twice", a.Name)
		seen[a.Name] = true
		assert.True(t, (a.Query == "") != (a.LogFilter == ""), "%s: a query or a log filter", a.Name)
		assert.Contains(t, []string{"CRITICAL", "ERROR", "WARNING"}, a.Severity, a.Name)
		assert.NotEmpty(t, a.Runbook, a.Name)
	}
}
