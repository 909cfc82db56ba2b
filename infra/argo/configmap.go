package argo

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// KeyFormat is the seed's dated layout of archived logs in the bucket.
const KeyFormat = "argo/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{workflow.name}}/{{pod.name}}"

// ConfigParams are the plain values the ConfigMap is built from.
type ConfigParams struct {
	Bucket, Database, ClusterName string
	// UserSecret is the Secret holding the database user this reader presents.
	UserSecret       string
	WorkflowKSA      string
	Throughput       Throughput
	ArchiveTTLDays   int
	WorkflowTTLHours int
	SpotSteps        bool
	Links            []Link
}

// NewControllerConfig builds the controller's configuration.
func NewControllerConfig(p ConfigParams) ControllerConfig {
	defaults := WorkflowSpecDefaults{
		// Seed lesson (trap 3): a workflow that names no account ran as
		// `default` and lacked rights. Every workflow now runs as the
		// workflow pods' account unless it names another.
		ServiceAccountName: p.WorkflowKSA,
		TTLStrategy:        TTLStrategy{SecondsAfterCompletion: p.WorkflowTTLHours * 3600},
		// Keep failed pods for debugging; logs are archived in GCS anyway.
		PodGC: PodGC{Strategy: "OnPodSuccess"},
		// Retry infrastructure failures (a preempted Spot node, a lost
		// pod), never a step's own failure.
		RetryStrategy: &RetryInfrastructureFailures,
		// Every template reports its duration: the dashboard's step
		// duration chart (Argo has no built-in one).
		TemplateDefaults: &TemplateDefaults{Metrics: TemplateMetrics{Prometheus: []PrometheusMetric{StepDuration}}},
	}
	if p.SpotSteps {
		// Autopilot Spot Pods cost a fraction of regular ones; the retry
		// above survives preemption.
		defaults.NodeSelector = map[string]string{"cloud.google.com/gke-spot": "true"}
	}
	secret := SecretKey{Name: p.UserSecret, Key: "username"}
	return ControllerConfig{
		Parallelism:          p.Throughput.Parallelism,
		NamespaceParallelism: p.Throughput.NamespaceParallelism,
		ResourceRateLimit:    RateLimit{Limit: p.Throughput.PodsPerSecond, Burst: p.Throughput.PodBurst},
		NodeEvents:           Toggle{Enabled: true},
		Executor:             Executor{Resources: Resources{Requests: ExecutorResources, Limits: ExecutorResources}},
		ArtifactRepository: ArtifactRepository{
			ArchiveLogs: true,
			GCS:         GCSArtifactRepository{Bucket: p.Bucket, KeyFormat: KeyFormat},
		},
		// Plain HTTP: scraped inside the cluster by Managed Prometheus, and
		// the NetworkPolicy admits only its collectors.
		MetricsConfig: Metrics{Enabled: true, Path: "/metrics", Port: metricsPort, Secure: false},
		Persistence: Persistence{
			ConnectionPool:    ConnectionPool{MaxIdleConns: 5, MaxOpenConns: 10, ConnMaxLifetime: "30m"},
			NodeStatusOffLoad: true,
			Archive:           true,
			ArchiveTTL:        fmt.Sprintf("%dd", p.ArchiveTTLDays),
			ClusterName:       p.ClusterName,
			PostgreSQL: PostgreSQL{
				// The Auth Proxy sidecar, which encrypts and authenticates.
				Host: "127.0.0.1", Port: postgresPort,
				Database: p.Database, TableName: "argo_workflows",
				UserNameSecret: secret,
				// Empty: --auto-iam-authn puts a token in its place.
				PasswordSecret: SecretKey{Name: p.UserSecret, Key: "password"},
				SSL:            false, SSLMode: "disable",
			},
		},
		WorkflowDefaults: WorkflowDefaults{Spec: defaults},
		Links:            p.Links,
	}
}

// CloudEntries are the ConfigMap entries that carry cloud outputs (the log
// bucket's name, the archive database's name). configMaps renders every
// other entry as a plain value, so a preview in which the bucket or the
// database is replaced (their names unknown until the update) shows every
// Argo setting as it will be and only these entries as unknown.
var CloudEntries = []string{"artifactRepository", "persistence"}

// configMaps writes the controller's ConfigMap and the server's twin, which
// differs only in the database user it presents.
func (b *builder) configMaps() error {
	a := b.args
	for _, c := range []struct{ name, component string }{
		{controllerConfigMap, controllerName},
		{serverConfigMap, serverName},
	} {
		params := ConfigParams{
			ClusterName: a.ClusterName,
			UserSecret:  databaseSecretName(c.component), WorkflowKSA: a.Workflow.KSA,
			Throughput: a.Throughput, ArchiveTTLDays: a.ArchiveTTLDays,
			WorkflowTTLHours: a.WorkflowTTLHours, SpotSteps: a.SpotSteps, Links: a.Links,
		}
		plain, err := NewControllerConfig(params).Data()
		if err != nil {
			return err
		}
		data := pulumi.StringMap{}
		for k, v := range plain {
			data[k] = pulumi.String(v)
		}
		// entry renders one entry once the cloud value it carries is known.
		entry := func(key string, set func(*ConfigParams, string)) func(string) (string, error) {
			return func(v string) (string, error) {
				p := params
				set(&p, v)
				d, err := NewControllerConfig(p).Data()
				return d[key], err
			}
		}
		data["artifactRepository"] = a.Bucket.ToStringOutput().ApplyT(
			entry("artifactRepository", func(p *ConfigParams, v string) { p.Bucket = v })).(pulumi.StringOutput)
		data["persistence"] = a.Database.Name.ToStringOutput().ApplyT(
			entry("persistence", func(p *ConfigParams, v string) { p.Database = v })).(pulumi.StringOutput)
		if _, err := corev1.NewConfigMap(b.ctx, b.child("configmap-"+c.name), &corev1.ConfigMapArgs{
			Metadata: b.meta(c.name, c.component),
			Data:     data,
		}, b.inNamespace()...); err != nil {
			return fmt.Errorf("argo: configmap %s: %w", c.name, err)
		}
	}
	return nil
}
