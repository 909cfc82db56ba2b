package gcp

import (
	"encoding/json"
	"fmt"
	"strings"

	gcpmonitoring "github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/monitoring"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/infra/monitoring"
)

// MonitoringArgs configures Monitoring.
type MonitoringArgs struct {
	// APIs are the enabled project APIs; every child waits for them.
	APIs []pulumi.Resource
	// Project holds the policies, channels and dashboard. Required.
	Project string
	// Environment names the stack in display names. Required.
	Environment string
	// Scope is the stack's controller (cluster and namespace). Required.
	Scope monitoring.Scope
	// Alerts is the settings' alerts section: each of its Emails gets an
	// e-mail notification channel on every policy.
	google.Alerts
}

// Monitoring is the stack's alert policies (infra/monitoring.Alerts), the
// e-mail channels they notify and the team's dashboard.
type Monitoring struct {
	pulumi.ResourceState

	// DashboardID is the dashboard's resource id.
	DashboardID pulumi.StringOutput
}

// NewMonitoring creates the channels, the policies and the dashboard.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource(typePrefix+"Monitoring", name, m, opts...); err != nil {
		return nil, err
	}
	child := under(m, args.APIs)
	project := pulumi.String(args.Project)
	title := func(s string) string { return fmt.Sprintf("%s (%s)", s, args.Environment) }

	var channels pulumi.StringArray
	for _, e := range args.Emails {
		ch, err := gcpmonitoring.NewNotificationChannel(ctx, name+"-email-"+strings.ToLower(e), &gcpmonitoring.NotificationChannelArgs{
			Project:     project,
			DisplayName: pulumi.String(title("Argo alerts to " + e)),
			Type:        pulumi.String("email"),
			Labels:      pulumi.StringMap{"email_address": pulumi.String(e)},
		}, child)
		if err != nil {
			return nil, err
		}
		channels = append(channels, ch.ID().ToStringOutput())
	}

	for _, a := range monitoring.Alerts(args.Scope) {
		cond := gcpmonitoring.AlertPolicyConditionArgs{DisplayName: pulumi.String(a.Title)}
		var strategy *gcpmonitoring.AlertPolicyAlertStrategyArgs
		if a.LogFilter != "" {
			cond.ConditionMatchedLog = &gcpmonitoring.AlertPolicyConditionConditionMatchedLogArgs{Filter: pulumi.String(a.LogFilter)}
			// Log-match policies must say how often they may notify.
			strategy = &gcpmonitoring.AlertPolicyAlertStrategyArgs{
				NotificationRateLimit: &gcpmonitoring.AlertPolicyAlertStrategyNotificationRateLimitArgs{Period: pulumi.String("300s")},
				AutoClose:             pulumi.String("1800s"),
			}
		} else {
			cond.ConditionPrometheusQueryLanguage = &gcpmonitoring.AlertPolicyConditionConditionPrometheusQueryLanguageArgs{
				Query:    pulumi.String(a.Query),
				Duration: pulumi.String(fmt.Sprintf("%ds", int(a.For.Seconds()))),
			}
		}
		_, err := gcpmonitoring.NewAlertPolicy(ctx, name+"-"+a.Name, &gcpmonitoring.AlertPolicyArgs{
			Project:              project,
			DisplayName:          pulumi.String(title(a.Title)),
			Combiner:             pulumi.String("OR"),
			Severity:             pulumi.String(a.Severity),
			Conditions:           gcpmonitoring.AlertPolicyConditionArray{cond},
			AlertStrategy:        strategy,
			NotificationChannels: channels,
			Documentation: &gcpmonitoring.AlertPolicyDocumentationArgs{
				Content: pulumi.String(a.Runbook), MimeType: pulumi.String("text/markdown"),
			},
			UserLabels: pulumi.StringMap{"environment": pulumi.String(args.Environment)},
		}, child)
		if err != nil {
			return nil, err
		}
	}

	layout, err := dashboardJSON(title("Argo Workflows"), monitoring.Dashboard(args.Scope))
	if err != nil {
		return nil, err
	}
	dash, err := gcpmonitoring.NewDashboard(ctx, name+"-dashboard", &gcpmonitoring.DashboardArgs{
		Project: project, DashboardJson: pulumi.String(layout),
	}, child)
	if err != nil {
		return nil, err
	}
	m.DashboardID = dash.ID().ToStringOutput()
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"dashboardId": m.DashboardID})
}

// dashboardJSON lays the charts out two to a row (Cloud Monitoring's
// mosaic layout is 48 columns wide), each query a line chart data set.
func dashboardJSON(name string, charts []monitoring.Chart) (string, error) {
	type query struct {
		PrometheusQuery string `json:"prometheusQuery"`
	}
	type dataSet struct {
		TimeSeriesQuery query  `json:"timeSeriesQuery"`
		PlotType        string `json:"plotType"`
	}
	var tiles []map[string]any
	for i, c := range charts {
		var sets []dataSet
		for _, q := range c.Queries {
			sets = append(sets, dataSet{TimeSeriesQuery: query{q}, PlotType: "LINE"})
		}
		tiles = append(tiles, map[string]any{
			"xPos": (i % 2) * 24, "yPos": (i / 2) * 16, "width": 24, "height": 16,
			"widget": map[string]any{"title": c.Title, "xyChart": map[string]any{"dataSets": sets}},
		})
	}
	b, err := json.Marshal(map[string]any{
		"displayName":  name,
		"mosaicLayout": map[string]any{"columns": 48, "tiles": tiles},
	})
	return string(b), err
}
