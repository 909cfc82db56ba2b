package argo

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/argo-platform/argo-platform/infra/monitoring"
)

// ControllerConfig is the workflow-controller ConfigMap, as Go structs. Only
// keys today's Argo accepts are modelled: the controller parses its ConfigMap
// strictly and refuses to start on a removed key (containerRuntimeExecutor,
// executorImage, kubeletPort, ...), which is what broke the seed's copy.
type ControllerConfig struct {
	Parallelism          int                `yaml:"parallelism"`
	NamespaceParallelism int                `yaml:"namespaceParallelism"`
	ResourceRateLimit    RateLimit          `yaml:"resourceRateLimit"`
	NodeEvents           Toggle             `yaml:"nodeEvents"`
	Executor             Executor           `yaml:"executor"`
	ArtifactRepository   ArtifactRepository `yaml:"artifactRepository"`
	MetricsConfig        Metrics            `yaml:"metricsConfig"`
	Persistence          Persistence        `yaml:"persistence"`
	WorkflowDefaults     WorkflowDefaults   `yaml:"workflowDefaults"`
	Links                []Link             `yaml:"links,omitempty"`
	// SSO is argo-server's sign-in (its ConfigMap only).
	SSO *SSO `yaml:"sso,omitempty"`
}

// SSO is argo-server's sign-in with an OpenID Connect provider, with RBAC:
// each request acts as the ServiceAccount whose rule holds for the person.
type SSO struct {
	Issuer       string    `yaml:"issuer"`
	ClientID     SecretKey `yaml:"clientId"`
	ClientSecret SecretKey `yaml:"clientSecret"`
	RedirectURL  string    `yaml:"redirectUrl"`
	Scopes       []string  `yaml:"scopes"`
	RBAC         Toggle    `yaml:"rbac"`
	// SessionExpiry is how long a sign-in lasts, a Go duration.
	SessionExpiry string `yaml:"sessionExpiry"`
}

// RateLimit bounds how fast the controller creates pods.
type RateLimit struct {
	Limit float64 `yaml:"limit"`
	Burst int     `yaml:"burst"`
}

// Toggle is an {enabled: bool} block.
type Toggle struct {
	Enabled bool `yaml:"enabled"`
}

// Executor customises the init and wait containers of every step pod.
type Executor struct {
	Resources Resources `yaml:"resources"`
}

// Resources are container requests and limits.
type Resources struct {
	Requests map[string]string `yaml:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty"`
}

// ArtifactRepository is where step logs and artifacts go.
type ArtifactRepository struct {
	ArchiveLogs bool                  `yaml:"archiveLogs"`
	GCS         GCSArtifactRepository `yaml:"gcs"`
}

// GCSArtifactRepository is a bucket. No serviceAccountKeySecret: pods reach
// GCS as their Workload Identity.
type GCSArtifactRepository struct {
	Bucket    string `yaml:"bucket"`
	KeyFormat string `yaml:"keyFormat"`
}

// Metrics is the controller's Prometheus endpoint.
type Metrics struct {
	Enabled bool   `yaml:"enabled"`
	Path    string `yaml:"path"`
	Port    int    `yaml:"port"`
	Secure  bool   `yaml:"secure"`
}

// Persistence is the workflow archive and status offload in PostgreSQL.
type Persistence struct {
	ConnectionPool    ConnectionPool `yaml:"connectionPool"`
	NodeStatusOffLoad bool           `yaml:"nodeStatusOffLoad"`
	Archive           bool           `yaml:"archive"`
	ArchiveTTL        string         `yaml:"archiveTTL"`
	ClusterName       string         `yaml:"clusterName"`
	PostgreSQL        PostgreSQL     `yaml:"postgresql"`
}

// ConnectionPool bounds the database connections of one pod.
type ConnectionPool struct {
	MaxIdleConns    int    `yaml:"maxIdleConns"`
	MaxOpenConns    int    `yaml:"maxOpenConns"`
	ConnMaxLifetime string `yaml:"connMaxLifetime"`
}

// PostgreSQL is reached through the Cloud SQL Auth Proxy sidecar.
type PostgreSQL struct {
	Host           string    `yaml:"host"`
	Port           int       `yaml:"port"`
	Database       string    `yaml:"database"`
	TableName      string    `yaml:"tableName"`
	UserNameSecret SecretKey `yaml:"userNameSecret"`
	PasswordSecret SecretKey `yaml:"passwordSecret"`
	SSL            bool      `yaml:"ssl"`
	SSLMode        string    `yaml:"sslMode"`
}

// SecretKey names one key of a Secret in Argo's namespace.
type SecretKey struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// WorkflowDefaults is merged into every Workflow.
type WorkflowDefaults struct {
	Spec WorkflowSpecDefaults `yaml:"spec"`
}

// WorkflowSpecDefaults are the spec fields every Workflow gets unless it sets
// its own.
type WorkflowSpecDefaults struct {
	ServiceAccountName string            `yaml:"serviceAccountName"`
	Executor           *ExecutorDefaults `yaml:"executor,omitempty"`
	TTLStrategy        TTLStrategy       `yaml:"ttlStrategy"`
	PodGC              PodGC             `yaml:"podGC"`
	RetryStrategy      *RetryStrategy    `yaml:"retryStrategy,omitempty"`
	NodeSelector       map[string]string `yaml:"nodeSelector,omitempty"`
	TemplateDefaults   *TemplateDefaults `yaml:"templateDefaults,omitempty"`
}

// ExecutorDefaults is the account of Argo's init and wait containers
// (spec.executor): its token is mounted into them alone.
type ExecutorDefaults struct {
	ServiceAccountName string `yaml:"serviceAccountName"`
}

// TemplateDefaults are merged into every template of a Workflow.
type TemplateDefaults struct {
	Metrics TemplateMetrics `yaml:"metrics"`
}

// TemplateMetrics are custom metrics a template emits when it ends.
type TemplateMetrics struct {
	Prometheus []PrometheusMetric `yaml:"prometheus"`
}

// PrometheusMetric is one custom metric; Argo exports it with its
// argo_workflows_ prefix.
type PrometheusMetric struct {
	Name      string        `yaml:"name"`
	Help      string        `yaml:"help"`
	Labels    []MetricLabel `yaml:"labels,omitempty"`
	Histogram *Histogram    `yaml:"histogram,omitempty"`
}

// MetricLabel is one label of a custom metric; Value may use the
// template's variables.
type MetricLabel struct {
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// Histogram observes Value into Buckets.
type Histogram struct {
	Value   string    `yaml:"value"`
	Buckets []float64 `yaml:"buckets"`
}

// StepDuration is the duration of every template run, by how it ended: a
// step's pod, or a group of steps (monitoring.StepDurationMetric).
var StepDuration = PrometheusMetric{
	Name:   monitoring.StepDurationMetric,
	Help:   "Duration of each template run: a step, or a group of steps (workflow defaults)",
	Labels: []MetricLabel{{Key: "status", Value: "{{status}}"}},
	Histogram: &Histogram{
		Value:   "{{duration}}",
		Buckets: []float64{1, 5, 15, 60, 300, 900, 3600, 14400},
	},
}

// TTLStrategy deletes finished Workflow objects (they stay in the archive).
type TTLStrategy struct {
	SecondsAfterCompletion int `yaml:"secondsAfterCompletion"`
}

// PodGC deletes finished step pods.
type PodGC struct {
	Strategy string `yaml:"strategy"`
}

// RetryStrategy retries steps.
type RetryStrategy struct {
	Limit       int    `yaml:"limit"`
	RetryPolicy string `yaml:"retryPolicy"`
	// Expression, when set, must also hold for a retry (Argo evaluates it
	// with lastRetry.status, .exitCode, .message and .duration).
	Expression string `yaml:"expression,omitempty"`
}

// PreemptionMessage is what the kubelet says of a pod it terminates because
// its node shuts down, as when Spot capacity is reclaimed.
const PreemptionMessage = "imminent node shutdown"

// RetryInfrastructureFailures retries what happened to a step, never what
// the step did. An Error node (its pod deleted with its node, evicted
// before it ran, ...) is retried, and so is a pod the kubelet failed
// because its node shut down: a preempted Spot Pod fails with exit 143 and
// the kubelet's "Pod was terminated in response to imminent node
// shutdown.", a Failed node, which retryPolicy OnError alone never retries.
// A step whose own command fails is Failed with another message: not
// retried.
var RetryInfrastructureFailures = RetryStrategy{
	Limit:       3,
	RetryPolicy: "Always",
	Expression:  `lastRetry.status == "Error" || (lastRetry.status == "Failed" && lastRetry.message contains "` + PreemptionMessage + `")`,
}

// Link is a button in Argo's UI.
type Link struct {
	Name  string `yaml:"name"`
	Scope string `yaml:"scope"`
	URL   string `yaml:"url"`
}

// Data renders the ConfigMap's data: one entry per top-level key, the form
// Argo reads when there is no single `config` entry. Argo joins the entries
// into one YAML document: an entry without a newline goes on its key's line
// (`parallelism: 20`), any other is indented below its key. So scalars are
// rendered on one line, and every mapping or list ends with a newline, or
// `nodeEvents: enabled: true` would be invalid YAML.
func (c ControllerConfig) Data() (map[string]string, error) {
	out := map[string]string{}
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		f := v.Field(i)
		if opts == "omitempty" && f.IsZero() {
			continue
		}
		text, err := yaml.Marshal(f.Interface())
		if err != nil {
			return nil, fmt.Errorf("argo: config %s: %w", name, err)
		}
		switch f.Kind() {
		case reflect.Struct, reflect.Map, reflect.Slice, reflect.Pointer:
			out[name] = string(text) // ends with a newline: block form
		default:
			out[name] = strings.TrimSuffix(string(text), "\n")
		}
	}
	return out, nil
}
