package tests

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/monitoring"
)

// The scope the alerts read must be where the controller's metrics come
// from: the cluster GCP creates and the namespace the PodMonitoring that
// Managed Prometheus follows is in (its target labels cluster and
// namespace), read from the registered resources, not from the settings.
func scrapedFrom(t *testing.T, r *run) monitoring.Scope {
	t.Helper()
	clusters := r.rec.OfType("gcp:container/cluster:Cluster")
	require.Len(t, clusters, 1)
	pm := kube(t, r.rec, "kubernetes:monitoring.googleapis.com/v1:PodMonitoring", "workflow-controller")
	return monitoring.Scope{Cluster: Str(clusters[0].Inputs, "name"), Namespace: Str(pm.Inputs, "metadata.namespace"), RunsPerDay: r.cfg.Argo.ArchivedRunsPerDay}
}

// Every stack gets one policy per alert, reading its own controller, each
// notifying every address of alerts.emails; production names at least one.
func TestAlertPoliciesWatchTheStacksControllerAndNotifyItsEmails(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		scope := scrapedFrom(t, r)
		channels := r.rec.OfType("gcp:monitoring/notificationChannel:NotificationChannel")
		var addresses []string
		for _, ch := range channels {
			assert.Equal(t, "email", Str(ch.Inputs, "type"))
			assert.Equal(t, r.cfg.Project, Str(ch.Inputs, "project"))
			addresses = append(addresses, Str(ch.Inputs, "labels.email_address"))
		}
		assert.ElementsMatch(t, r.cfg.Alerts.Emails, addresses)
		if r.stack == "production" {
			assert.NotEmpty(t, channels, "production's alerts reach someone")
		}

		policies := r.rec.OfType("gcp:monitoring/alertPolicy:AlertPolicy")
		want := monitoring.Alerts(scope)
		byTitle := map[string]*Registered{}
		var titles []string
		for _, p := range policies {
			byTitle[Str(p.Inputs, "conditions[0].displayName")] = p
			titles = append(titles, Str(p.Inputs, "conditions[0].displayName"))
		}
		// The alerts the README's monitoring section promises, each once.
		assert.ElementsMatch(t, []string{
			"Argo: a workflow failed",
			"Argo: the workflow controller is down",
			"Argo: the workflow controller is not reconciling",
			"Argo: step pods stuck Pending",
			"Argo: the workflow controller logged errors",
			"Argo: a finished workflow was not archived",
			"Argo: argo-server near its memory limit",
			"Argo: the archive grows faster than argo-server is sized for",
		}, titles)
		for _, a := range want {
			p := byTitle[a.Title]
			if !assert.NotNil(t, p, "a policy for %q", a.Title) {
				continue
			}
			assert.Equal(t, r.cfg.Project, Str(p.Inputs, "project"))
			assert.Contains(t, []string{"CRITICAL", "ERROR", "WARNING"}, Str(p.Inputs, "severity"), "a severity Cloud Monitoring knows")
			assert.Equal(t, 1, Len(p.Inputs, "conditions"))
			if a.Query != "" {
				q := Str(p.Inputs, "conditions[0].conditionPrometheusQueryLanguage.query")
				assert.Equal(t, a.Query, q)
				if a.Name == "archive-growth" {
					assert.Contains(t, q, fmt.Sprintf("> %d", (r.cfg.Argo.ArchivedRunsPerDay*4+4)/5), "80%% of the rate argo-server is sized for")
				}
				// Managed Prometheus labels a scraped target cluster and
				// namespace; GKE's system metrics label their monitored
				// resource cluster_name and namespace_name.
				if strings.Contains(q, "kubernetes_io:") {
					assert.Contains(t, q, `cluster_name="`+scope.Cluster+`"`, "reads this stack's cluster")
					assert.Contains(t, q, `namespace_name="`+scope.Namespace+`"`, "reads Argo's namespace")
				} else {
					assert.Contains(t, q, `cluster="`+scope.Cluster+`"`, "reads this stack's cluster")
					assert.Contains(t, q, `namespace="`+scope.Namespace+`"`, "reads Argo's namespace")
				}
			} else {
				f := Str(p.Inputs, "conditions[0].conditionMatchedLog.filter")
				assert.Contains(t, f, `resource.labels.cluster_name="`+scope.Cluster+`"`)
				assert.Contains(t, f, `resource.labels.namespace_name="`+scope.Namespace+`"`)
				// What Argo's controller logs (the e2e sees the real one
				// log exactly this when the archive table is gone).
				assert.Contains(t, f, `jsonPayload.msg="failed to archive workflow"`)
				assert.NotEmpty(t, Str(p.Inputs, "alertStrategy.notificationRateLimit.period"), "GCP requires a rate limit on log-match policies")
			}
			assert.NotEmpty(t, Str(p.Inputs, "documentation.content"), "the notification says what to do")
			// Every channel of the stack, known at preview too: a policy
			// that notifies nobody would look fine in the console.
			n := Len(p.Inputs, "notificationChannels")
			assert.Equal(t, len(channels), n, "%s notifies every address", a.Title)
			if !r.dryRun {
				// The ids of this stack's registered channels, each once
				// (the mock's id of a resource is its name + "-id").
				var ids, want []string
				for i := range n {
					ids = append(ids, Str(p.Inputs, "notificationChannels["+strconv.Itoa(i)+"]"))
				}
				for _, c := range channels {
					want = append(want, c.Name+"-id")
				}
				assert.ElementsMatch(t, want, ids, "%s notifies exactly the stack's channels", a.Title)
			}
		}
	})
}

// The dashboard is valid JSON for Cloud Monitoring, one tile per chart,
// every tile's queries the ones monitoring.Dashboard writes for this stack.
func TestTheDashboardChartsTheStacksController(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		dashboards := r.rec.OfType("gcp:monitoring/dashboard:Dashboard")
		require.Len(t, dashboards, 1)
		var d struct {
			DisplayName  string `json:"displayName"`
			MosaicLayout struct {
				Columns int `json:"columns"`
				Tiles   []struct {
					XPos, YPos, Width, Height int
					Widget                    struct {
						Title   string `json:"title"`
						XYChart struct {
							DataSets []struct {
								TimeSeriesQuery struct {
									PrometheusQuery string `json:"prometheusQuery"`
								} `json:"timeSeriesQuery"`
							} `json:"dataSets"`
						} `json:"xyChart"`
					} `json:"widget"`
				} `json:"tiles"`
			} `json:"mosaicLayout"`
		}
		require.NoError(t, json.Unmarshal([]byte(Str(dashboards[0].Inputs, "dashboardJson")), &d))
		assert.Contains(t, d.DisplayName, r.cfg.Environment)
		charts := monitoring.Dashboard(scrapedFrom(t, r))
		require.Len(t, d.MosaicLayout.Tiles, len(charts))
		for i, tile := range d.MosaicLayout.Tiles {
			assert.Equal(t, charts[i].Title, tile.Widget.Title)
			var queries []string
			for _, ds := range tile.Widget.XYChart.DataSets {
				queries = append(queries, ds.TimeSeriesQuery.PrometheusQuery)
			}
			assert.Equal(t, charts[i].Queries, queries)
			assert.LessOrEqual(t, tile.XPos+tile.Width, d.MosaicLayout.Columns, "the tile fits the grid")
		}
		titles := strings.Join(func() []string {
			var out []string
			for _, c := range charts {
				out = append(out, c.Title)
			}
			return out
		}(), "|")
		for _, want := range []string{"Workflows by phase", "Queue depth", "pods by phase", "Step duration", "errors"} {
			assert.Contains(t, titles, want, "the dashboard the team asked for")
		}
	})
}

// Production refuses a stack without an alert address before anything is
// registered.
func TestProductionWithoutAlertEmailsIsRefusedBeforeAnyResource(t *testing.T) {
	cfg, err := StackConfig("production")
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(cfg["argo-platform:settings"]), &s))
	delete(s, "alerts")
	b, err := json.Marshal(s)
	require.NoError(t, err)
	cfg["argo-platform:settings"] = string(b)
	rec, err := Run(infra.Deploy, "production", cfg, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "argo-platform:settings.alerts.emails")
	assert.Empty(t, rec.Resources(), "nothing registered")
}
