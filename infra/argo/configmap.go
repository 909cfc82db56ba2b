package argo

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// KeyFormat is where a step's logs and artifacts go in the bucket: the
// seed's dated layout, below a folder per account (LogPrefix). The bucket
// grants each workflow account its own folder only, so a pipeline cannot
// read, overwrite or delete another's objects. Argo expands
// workflow.serviceAccountName to the account the workflow runs as (its own
// or, when it names none, workflowDefaults'); a template that names another
// account than its workflow's writes into a folder that is not its own, and
// GCS refuses it. The e2e's executor stand-in uploads to the key the real
// controller expanded, through the bucket grants the stack registers.
const KeyFormat = logRoot + "{{workflow.serviceAccountName}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{workflow.name}}/{{pod.name}}"

// logRoot is the folder every archived object lives under. Objects archived
// before the per-account folders sit directly below it (argo/YYYY/...): an
// account name starts with a letter, so no account's folder holds them.
const logRoot = "argo/"

// LogPrefix is the folder of the bucket that workflows running as Kubernetes
// ServiceAccount ksa write to (KeyFormat); the slash ends it, so one
// account's folder is never the start of another's.
func LogPrefix(ksa string) string { return logRoot + ksa + "/" }

// controllerConfig is the configuration Argo reads from the ConfigMap of a
// component that presents the database user in userSecret, once the log
// bucket's and the database's names are known.
func (a *WorkflowsArgs) controllerConfig(userSecret, bucket, database string) ControllerConfig {
	t := a.Settings
	defaults := WorkflowSpecDefaults{
		// Seed lesson (trap 3): a workflow that names no account ran as
		// `default` and lacked rights. Every workflow now runs as the
		// workflow pods' account unless it names another.
		ServiceAccountName: a.Workflow.KSA,
		// Only Argo's init and wait containers hold a Kubernetes token
		// that may report results (ExecutorKSA): the step's own code runs
		// with its account's token, which has no Kubernetes rights.
		Executor:    &ExecutorDefaults{ServiceAccountName: ExecutorKSA},
		TTLStrategy: TTLStrategy{SecondsAfterCompletion: a.WorkflowTTLHours * 3600},
		// Keep failed pods for debugging; logs are archived in GCS anyway.
		PodGC: PodGC{Strategy: "OnPodSuccess"},
		// Retry infrastructure failures (a preempted Spot node, a lost
		// pod), never a step's own failure.
		RetryStrategy: &RetryInfrastructureFailures,
		// Every template reports its duration: the dashboard's step
		// duration chart (Argo has no built-in one).
		TemplateDefaults: &TemplateDefaults{Metrics: TemplateMetrics{Prometheus: []PrometheusMetric{StepDuration}}},
	}
	if a.SpotSteps {
		// Autopilot Spot Pods cost a fraction of regular ones; the retry
		// above survives preemption.
		defaults.NodeSelector = map[string]string{"cloud.google.com/gke-spot": "true"}
	}
	secret := SecretKey{Name: userSecret, Key: "username"}
	return ControllerConfig{
		Parallelism:          t.Parallelism,
		NamespaceParallelism: t.NamespaceParallelism,
		ResourceRateLimit:    RateLimit{Limit: t.PodsPerSecond, Burst: t.PodBurst},
		NodeEvents:           Toggle{Enabled: true},
		Executor:             Executor{Resources: Resources{Requests: ExecutorResources, Limits: ExecutorResources}},
		ArtifactRepository: ArtifactRepository{
			ArchiveLogs: true,
			GCS:         GCSArtifactRepository{Bucket: bucket, KeyFormat: KeyFormat},
		},
		// Plain HTTP: scraped inside the cluster by Managed Prometheus, and
		// the NetworkPolicy admits only its collectors.
		MetricsConfig: Metrics{Enabled: true, Path: "/metrics", Port: metricsPort, Secure: false},
		Persistence: Persistence{
			ConnectionPool:    ConnectionPool{MaxIdleConns: 5, MaxOpenConns: 10, ConnMaxLifetime: "30m"},
			NodeStatusOffLoad: true,
			Archive:           true,
			ArchiveTTL:        fmt.Sprintf("%dd", a.ArchiveTTLDays),
			ClusterName:       a.ClusterName,
			PostgreSQL: PostgreSQL{
				// The Auth Proxy sidecar, which encrypts and authenticates.
				Host: "127.0.0.1", Port: postgresPort,
				Database: database, TableName: "argo_workflows",
				UserNameSecret: secret,
				// Empty: --auto-iam-authn puts a token in its place.
				PasswordSecret: SecretKey{Name: userSecret, Key: "password"},
				SSL:            false, SSLMode: "disable",
			},
		},
		WorkflowDefaults: WorkflowDefaults{Spec: defaults},
		Links:            a.Links,
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
		user := databaseSecretName(c.component)
		// The entries carrying no cloud value, rendered with stand-ins for
		// the two that do.
		cfg := a.controllerConfig(user, "", "")
		if c.component == serverName {
			cfg.SSO = a.sso()
		}
		plain, err := cfg.Data()
		if err != nil {
			return err
		}
		data := pulumi.StringMap{}
		for k, v := range plain {
			data[k] = pulumi.String(v)
		}
		data["artifactRepository"] = a.Bucket.ToStringOutput().ApplyT(func(bucket string) (string, error) {
			d, err := a.controllerConfig(user, bucket, "").Data()
			return d["artifactRepository"], err
		}).(pulumi.StringOutput)
		data["persistence"] = a.Database.Name.ToStringOutput().ApplyT(func(database string) (string, error) {
			d, err := a.controllerConfig(user, "", database).Data()
			return d["persistence"], err
		}).(pulumi.StringOutput)
		// What the ConfigMap makes the controller put in a step's pod (the
		// executor's account and token, the archive key) exists, and the
		// admission policy admits it, before the controller reads it: an
		// `up` that changes both never has steps refused in between.
		deps := append(append([]pulumi.Resource{}, b.accounts...), b.guardPolicy, b.guard)
		if _, err := corev1.NewConfigMap(b.ctx, b.child("configmap-"+c.name), &corev1.ConfigMapArgs{
			Metadata: b.meta(c.name, c.component),
			Data:     data,
		}, b.inNamespace(pulumi.DependsOn(deps))...); err != nil {
			return fmt.Errorf("argo: configmap %s: %w", c.name, err)
		}
	}
	return nil
}

// SessionHours is how long a sign-in to argo-server lasts: a working day.
const SessionHours = 10

// sso is argo-server's sign-in: the issuer, the OAuth client's Secret, the
// callback on the UI's host, and RBAC on (SSO_DELEGATE_RBAC_TO_NAMESPACE
// lets each namespace's accounts decide there).
func (a *WorkflowsArgs) sso() *SSO {
	issuer := a.SignIn.Issuer
	if issuer == "" {
		issuer = GoogleIssuer
	}
	return &SSO{
		Issuer:        issuer,
		ClientID:      SecretKey{Name: ssoClientSecret, Key: "client-id"},
		ClientSecret:  SecretKey{Name: ssoClientSecret, Key: "client-secret"},
		RedirectURL:   "https://" + a.Host + "/oauth2/callback",
		Scopes:        []string{"email", "profile"},
		RBAC:          Toggle{Enabled: true},
		SessionExpiry: fmt.Sprintf("%dh", SessionHours),
	}
}
