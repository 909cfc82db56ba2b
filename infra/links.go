package infra

import (
	"net/url"
	"strings"

	"github.com/argo-platform/argo-platform/infra/argo"
)

// LoggingLinks are UI buttons that open Cloud Logging on a workflow's or a
// pod's container logs, for the seed's first pain: logs of failed heavy jobs
// were hard to find. Argo fills ${...} in when the button is pressed.
func LoggingLinks(project string) []argo.Link {
	link := func(filter ...string) string {
		q := url.PathEscape(strings.Join(filter, "\n"))
		// Argo substitutes ${...}; keep those characters unescaped.
		q = strings.NewReplacer("$%7B", "${", "%7D", "}").Replace(q)
		return "https://console.cloud.google.com/logs/query;query=" + q +
			";timeRange=${status.startedAt}%2F${status.finishedAt}?project=" + url.QueryEscape(project)
	}
	container := `resource.type="k8s_container"`
	ns := `resource.labels.namespace_name="${metadata.namespace}"`
	return []argo.Link{
		{Name: "Workflow logs", Scope: "workflow", URL: link(container, ns, `labels."k8s-pod/workflows_argoproj_io/workflow"="${metadata.name}"`)},
		{Name: "Pod logs", Scope: "pod", URL: link(container, ns, `resource.labels.pod_name="${metadata.name}"`)},
	}
}
