// Package monitoring is what the team is alerted on and what its dashboard
// shows: PromQL over the metrics Argo's workflow-controller exports (GKE
// Managed Prometheus scrapes them through the PodMonitoring the argo
// package creates), over one of GKE's own container metrics (argo-server's
// memory), and one Cloud Logging filter. It holds only the expressions;
// infra/gcp turns them into Cloud Monitoring resources.
//
// Every expression is parsed by Prometheus's own parser (tools/promql),
// and every Argo metric it reads is checked against the real controller's
// /metrics in the end-to-end tests (e2e: TestStacks, "metrics"): metric
// names drift between Argo releases. GKE's system metric is not: nothing
// here runs GKE (its name and labels are Google's, as Managed Prometheus
// spells Cloud Monitoring metrics in PromQL).
package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// StepDurationMetric is the histogram every step reports when it ends
// (the controller's workflowDefaults give every template this metric; Argo
// exports custom metrics with its argo_workflows_ prefix).
const StepDurationMetric = "step_duration_seconds"

// Scope selects one stack's controller among everything Managed Prometheus
// stores in the project: the GKE cluster's name and the namespace the
// controller runs in (Managed Prometheus's target labels).
type Scope struct {
	Cluster, Namespace string
	// RunsPerDay is argo.archivedRunsPerDay: the rate of finished
	// workflows argo-server's memory is sized for.
	RunsPerDay int
}

func (s Scope) sel(extra string) string {
	m := fmt.Sprintf(`cluster=%q,namespace=%q`, s.Cluster, s.Namespace)
	if extra != "" {
		m += "," + extra
	}
	return "{" + m + "}"
}

// ServerContainer is argo-server's container name.
const ServerContainer = "argo-server"

// serverMemory is GKE's share of argo-server's memory limit in use (its
// system metric kubernetes.io/container/memory/limit_utilization, which
// labels its monitored resource cluster_name and namespace_name), the
// memory the kernel cannot reclaim, which is what gets a container killed.
func (s Scope) serverMemory() string {
	return fmt.Sprintf(`kubernetes_io:container_memory_limit_utilization{monitored_resource="k8s_container",cluster_name=%q,namespace_name=%q,container_name=%q,memory_type="non-evictable"}`,
		s.Cluster, s.Namespace, ServerContainer)
}

// runsPerDay is how many workflows started in the last day (each enters
// Running once; a retried or resubmitted run is a workflow of its own):
// the archive's growth, in what argo.archivedRunsPerDay counts.
func (s Scope) runsPerDay() string {
	return "sum(increase(argo_workflows_total_count" + s.sel(`phase="Running"`) + "[1d]))"
}

// Alert is one Cloud Monitoring alert policy. Exactly one of Query (a
// PromQL condition, true while it returns a series) and LogFilter (a
// Cloud Logging filter: a matching entry opens an incident) is set.
type Alert struct {
	// Name is unique among the alerts and part of the resource's name.
	Name string
	// Title is the policy's display name.
	Title string
	// Severity is Cloud Monitoring's: CRITICAL, ERROR or WARNING.
	Severity string
	Query    string
	// For is how long Query must hold before the policy fires.
	For       time.Duration
	LogFilter string
	// Runbook is the documentation sent with the notification: what it
	// means and what to do.
	Runbook string
}

// Alerts are the policies every stack gets.
func Alerts(s Scope) []Alert {
	failed := "argo_workflows_gauge" + s.sel(`phase=~"Failed|Error"`)
	leader := "argo_workflows_is_leader" + s.sel("")
	return []Alert{{
		Name: "workflow-failed", Title: "Argo: a workflow failed", Severity: "ERROR",
		// The gauge counts finished workflows still in the cluster by
		// phase, zero included, so a rise is seen from the first failure
		// on (a counter's first sample would show no increase).
		Query: fmt.Sprintf("sum(%s) - sum(%s offset 10m) > 0", failed, failed),
		Runbook: "A workflow ended Failed or Error in the last 10 minutes. " +
			"List them with `argo list --status Failed,Error` (or the UI's Failed filter), read the failed step's log, fix and `argo resubmit`. " +
			"Infrastructure failures (a preempted Spot node, an evicted pod) are already retried 3 times by the workflow defaults.",
	}, {
		Name: "controller-down", Title: "Argo: the workflow controller is down", Severity: "CRITICAL",
		Query: fmt.Sprintf("absent_over_time(%s[5m]) or max(%s) < 1", leader, leader),
		Runbook: "No metrics from the workflow-controller for 5 minutes (or it is not the leader): no workflow starts or progresses. " +
			"Check `kubectl -n " + s.Namespace + " get pods,events`, the controller's log, and its Cloud SQL Auth Proxy sidecar (it cannot start without the database).",
	}, {
		Name: "controller-stalled", Title: "Argo: the workflow controller is not reconciling", Severity: "CRITICAL",
		Query: fmt.Sprintf("sum(%s) > 0 and sum(rate(%s[10m])) == 0",
			"argo_workflows_queue_depth_gauge"+s.sel(`queue_name="workflow_queue"`),
			"argo_workflows_operation_duration_seconds_count"+s.sel("")),
		For: 10 * time.Minute,
		Runbook: "Workflows are queued but the controller has finished no reconciliation for 10 minutes. " +
			"Look for API throttling or database errors in the controller's log; restart it with `kubectl -n " + s.Namespace + " rollout restart deployment workflow-controller`.",
	}, {
		Name: "pods-pending", Title: "Argo: step pods stuck Pending", Severity: "WARNING",
		Query: fmt.Sprintf("sum(%s) > 0", "argo_workflows_pods_gauge"+s.sel(`phase="Pending"`)),
		For:   15 * time.Minute,
		Runbook: "Step pods have been Pending for 15 minutes: Autopilot cannot place them, often because Spot capacity is short in the region, or a request exceeds Autopilot's limits. " +
			"`kubectl -n <workflow namespace> get events --field-selector reason=FailedScheduling` says why; a workflow may opt out of Spot with an empty nodeSelector.",
	}, {
		Name: "controller-errors", Title: "Argo: the workflow controller logged errors", Severity: "ERROR",
		Query: fmt.Sprintf("sum(increase(%s[10m])) > 0", "argo_workflows_log_messages"+s.sel(`level="error"`)),
		Runbook: "The controller logged errors in the last 10 minutes (a failed archive write is one). " +
			"Read them: Logs Explorer, resource.labels.container_name=\"workflow-controller\" severity>=ERROR.",
	}, {
		Name: "archive-failed", Title: "Argo: a finished workflow was not archived", Severity: "ERROR",
		LogFilter: fmt.Sprintf(`resource.type="k8s_container" AND resource.labels.cluster_name=%q AND resource.labels.namespace_name=%q AND resource.labels.container_name="workflow-controller" AND jsonPayload.msg=%q`,
			s.Cluster, s.Namespace, ArchiveFailedMessage),
		Runbook: "The controller could not write a finished workflow to the archive in Cloud SQL: it leaves the cluster after its TTL without a record. " +
			"Check the Cloud SQL instance, the controller's Auth Proxy sidecar, and the controller's database grants (the argo-db-bootstrap Job's log).",
	}, {
		Name: "server-memory", Title: "Argo: argo-server near its memory limit", Severity: "WARNING",
		Query: fmt.Sprintf("max(%s) > 0.8", s.serverMemory()),
		For:   5 * time.Minute,
		Runbook: "argo-server has used more than 80% of its memory limit for 5 minutes; at the limit GKE kills it and the UI is gone until it restarts. " +
			"Its memory is sized for argo.archiveTTLDays × argo.archivedRunsPerDay archived workflows, because one plain `argo list` builds a namespace's whole archive: " +
			"raise argo.archivedRunsPerDay in the stack file to what the archive-growth chart shows and deploy; meanwhile ask people to list with `argo list --chunk-size 500`.",
	}, {
		Name: "archive-growth", Title: "Argo: the archive grows faster than argo-server is sized for", Severity: "WARNING",
		Query: fmt.Sprintf("%s > %d", s.runsPerDay(), (s.RunsPerDay*4+4)/5),
		Runbook: fmt.Sprintf("More than 80%% of argo.archivedRunsPerDay (%d) workflows started in the last day. ", s.RunsPerDay) +
			"argo-server's memory is sized for archiveTTLDays days at that rate; a larger archive can get it killed by one plain `argo list`. " +
			"Raise argo.archivedRunsPerDay in the stack file (argo-server's memory follows it) or lower argo.archiveTTLDays, and deploy.",
	}}
}

// ArchiveFailedMessage is what Argo's controller logs (msg, at level
// error) when a workflow cannot be archived.
const ArchiveFailedMessage = "failed to archive workflow"

// Chart is one dashboard tile: a line per series of each query.
type Chart struct {
	Title   string
	Queries []string
}

// Dashboard is the team's dashboard.
func Dashboard(s Scope) []Chart {
	quantile := func(q float64, metric, by string) string {
		return fmt.Sprintf("histogram_quantile(%g, sum by (le%s) (rate(%s_bucket%s[10m])))", q, by, metric, s.sel(""))
	}
	step := "argo_workflows_" + StepDurationMetric
	return []Chart{
		{"Workflows by phase", []string{"sum by (phase) (argo_workflows_gauge" + s.sel("") + ")"}},
		{"Queue depth", []string{"sum by (queue_name) (argo_workflows_queue_depth_gauge" + s.sel("") + ")"}},
		{"Step pods by phase", []string{"sum by (phase) (argo_workflows_pods_gauge" + s.sel("") + ")"}},
		{"Step duration, seconds (p50, p95)", []string{quantile(0.5, step, ""), quantile(0.95, step, "")}},
		{"Controller errors per second", []string{
			"sum(rate(argo_workflows_log_messages" + s.sel(`level="error"`) + "[5m]))",
			"sum by (cause) (rate(argo_workflows_error_count" + s.sel("") + "[5m]))",
		}},
		{"Reconciliation time, seconds (p95)", []string{quantile(0.95, "argo_workflows_operation_duration_seconds", "")}},
		{"argo-server memory, share of its limit", []string{"max by (pod_name) (" + s.serverMemory() + ")"}},
		{fmt.Sprintf("Workflows started per day (argo-server is sized for %d)", s.RunsPerDay), []string{s.runsPerDay()}},
	}
}

// Queries are every PromQL expression of the alerts and the dashboard.
func Queries(s Scope) []string {
	var out []string
	for _, a := range Alerts(s) {
		if a.Query != "" {
			out = append(out, a.Query)
		}
	}
	for _, c := range Dashboard(s) {
		out = append(out, c.Queries...)
	}
	return out
}

// Selector is one series selector of a query: a metric name and its label
// matchers.
type Selector struct {
	Metric   string
	Matchers []Matcher
}

// Matcher is one label matcher; Op is "=" or "=~".
type Matcher struct {
	Label, Op, Value string
}

var (
	selectorRe = regexp.MustCompile(`((?:argo_workflows_|kubernetes_io:)[a-z0-9_:]+)\{([^}]*)\}`)
	matcherRe  = regexp.MustCompile(`([a-z_]+)(=~|=)"([^"]*)"`)
)

// Selectors are the selectors of query, in order. Every selector the
// expressions here write names an argo_workflows_ metric or a GKE system
// metric (kubernetes_io:) and has matchers in braces; tools/promql checks
// this reading against Prometheus's parser, and the e2e checks each Argo
// selector against the real controller's /metrics.
func Selectors(query string) []Selector {
	var out []Selector
	for _, m := range selectorRe.FindAllStringSubmatch(query, -1) {
		sel := Selector{Metric: m[1]}
		for _, mt := range matcherRe.FindAllStringSubmatch(m[2], -1) {
			sel.Matchers = append(sel.Matchers, Matcher{Label: mt[1], Op: mt[2], Value: mt[3]})
		}
		out = append(out, sel)
	}
	return out
}

// Metrics are the metric names query reads, sorted and each once.
func Metrics(query string) []string {
	var names []string
	for _, s := range Selectors(query) {
		names = append(names, s.Metric)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Argo says whether metric is one Argo's controller exports (which the
// e2e reads from the real controller), not one of GKE's.
func Argo(metric string) bool { return strings.HasPrefix(metric, "argo_workflows_") }
