package argo

import (
	"fmt"
	"strconv"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/stacks"
)

const (
	adminSecret   = "argo-db-admin"
	bootstrapName = "argo-db-bootstrap"
	// The bootstrap Job's admin proxy listens beside the IAM one.
	adminProxyPort       = 5433
	adminProxyHealthPort = 9802
)

// DatabaseUser is the IAM database user of the identity's GSA: the user its
// Auth Proxy logs in as, so the only user name it may present.
func (id Identity) DatabaseUser() pulumi.StringOutput {
	return id.GSA.ToStringOutput().ApplyT(stacks.DatabaseUser).(pulumi.StringOutput)
}

// databaseSecretName is the Secret holding the database user a component
// presents. Each component has its own, read through its own ConfigMap.
func databaseSecretName(component string) string { return "argo-postgres-" + component }

// databaseSecrets writes, per component, the user name Argo presents to
// PostgreSQL: the IAM database user of the very GSA its proxy logs in as.
// Both are derived from the same Identity, so they cannot disagree. The
// password is empty: the proxy's --auto-iam-authn supplies a token.
func (b *builder) databaseSecrets() error {
	for _, c := range []struct {
		component string
		id        Identity
	}{{controllerName, b.args.Controller}, {serverName, b.args.Server}} {
		if _, err := corev1.NewSecret(b.ctx, b.child("secret-"+databaseSecretName(c.component)), &corev1.SecretArgs{
			Metadata: b.meta(databaseSecretName(c.component), c.component),
			StringData: pulumi.StringMap{
				"username": c.id.DatabaseUser(),
				"password": pulumi.String(""),
			},
		}, b.inNamespace()...); err != nil {
			return fmt.Errorf("argo: database secret %s: %w", c.component, err)
		}
	}
	admin, err := corev1.NewSecret(b.ctx, b.child("secret-"+adminSecret), &corev1.SecretArgs{
		Metadata: b.meta(adminSecret, bootstrapName),
		StringData: pulumi.StringMap{
			"password": pulumi.ToSecret(b.args.Database.AdminPassword).(pulumi.StringOutput),
		},
	}, b.inNamespace()...)
	if err != nil {
		return fmt.Errorf("argo: admin secret: %w", err)
	}
	b.adminSecret = admin
	return nil
}

// GrantScript gives Argo's IAM database users what its migrations need.
//
// Cloud SQL gives a new IAM database user no privileges, and since
// PostgreSQL 15 only the database owner (cloudsqlsuperuser here) may create
// tables in schema public, so Argo's migrations would fail with "permission
// denied for schema public". The built-in admin (a cloudsqlsuperuser member)
// grants the controller's user CREATE on public; then the controller's user,
// which will own the tables it migrates, lets the server's user read and
// write them, now and in future. Every statement is idempotent, so the Job
// can run again whenever it is replaced.
const GrantScript = `set -eu
psql "host=127.0.0.1 port=$ADMIN_PORT dbname=$DATABASE user=$ADMIN_USER sslmode=disable" \
  -v ON_ERROR_STOP=1 -v ctrl="$CONTROLLER_USER" -v srv="$SERVER_USER" <<'SQL'
GRANT USAGE, CREATE ON SCHEMA public TO :"ctrl";
GRANT USAGE ON SCHEMA public TO :"srv";
SQL
psql "host=127.0.0.1 port=$IAM_PORT dbname=$DATABASE user=$CONTROLLER_USER sslmode=disable" \
  -v ON_ERROR_STOP=1 -v srv="$SERVER_USER" <<'SQL'
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"srv";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"srv";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"srv";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"srv";
SQL
echo "argo database grants in place"
`

// databaseBootstrap runs GrantScript once, as a Job the Deployments wait for.
// It runs as the controller's KSA: its GSA may connect (cloudsql.client) and
// is the IAM user that will own Argo's tables.
func (b *builder) databaseBootstrap() error {
	a := b.args
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("DATABASE"), Value: a.Database.Name},
		corev1.EnvVarArgs{Name: pulumi.String("ADMIN_USER"), Value: pulumi.String(a.Database.AdminUser)},
		corev1.EnvVarArgs{Name: pulumi.String("ADMIN_PORT"), Value: pulumi.String(strconv.Itoa(adminProxyPort))},
		corev1.EnvVarArgs{Name: pulumi.String("IAM_PORT"), Value: pulumi.String(strconv.Itoa(postgresPort))},
		corev1.EnvVarArgs{Name: pulumi.String("CONTROLLER_USER"), Value: a.Controller.DatabaseUser()},
		corev1.EnvVarArgs{Name: pulumi.String("SERVER_USER"), Value: a.Server.DatabaseUser()},
		corev1.EnvVarArgs{Name: pulumi.String("PGPASSWORD"), ValueFrom: corev1.EnvVarSourceArgs{
			SecretKeyRef: corev1.SecretKeySelectorArgs{Name: pulumi.String(adminSecret), Key: pulumi.String("password")},
		}},
	}
	psql := corev1.ContainerArgs{
		Name:    pulumi.String("grant"),
		Image:   pulumi.String(b.images.Postgres),
		Command: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-c"), pulumi.String(GrantScript)},
		Env:     env,
		// The postgres image's own non-root user.
		SecurityContext: containerSecurity(70),
		Resources:       requests("50m", "64Mi"),
	}
	// The IAM proxy serves the controller's login; the admin proxy the
	// built-in user's password login.
	iam := b.proxy(postgresPort, proxyHealthPort, true)
	iam.Name = pulumi.String("cloud-sql-proxy-iam")
	admin := b.proxy(adminProxyPort, adminProxyHealthPort, false)
	admin.Name = pulumi.String("cloud-sql-proxy-admin")

	// The GCP grants, the admin Secret it reads and the account it runs as.
	deps := append([]pulumi.Resource{b.adminSecret}, a.PodPrerequisites...)
	deps = append(deps, b.accounts...)
	job, err := batchv1.NewJob(b.ctx, b.child("job-"+bootstrapName), &batchv1.JobArgs{
		Metadata: b.meta(bootstrapName, bootstrapName),
		Spec: batchv1.JobSpecArgs{
			BackoffLimit: pulumi.Int(6),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: b.labels(bootstrapName)},
				Spec: corev1.PodSpecArgs{
					ServiceAccountName: pulumi.String(a.Controller.KSA),
					RestartPolicy:      pulumi.String("OnFailure"),
					SecurityContext:    podSecurity(),
					InitContainers:     corev1.ContainerArray{iam, admin},
					Containers:         corev1.ContainerArray{psql},
				},
			},
		},
	}, b.inNamespace(pulumi.DependsOn(deps))...)
	if err != nil {
		return fmt.Errorf("argo: database bootstrap: %w", err)
	}
	b.bootstrap = job
	return nil
}
