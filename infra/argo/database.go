package argo

import (
	"encoding/json"
	"fmt"
	"strconv"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	adminSecret   = "argo-db-admin"
	bootstrapName = "argo-db-bootstrap"
	// serverGrantName is the Job that grants the server its tables once
	// the controller has created them.
	serverGrantName = "argo-db-grant-server"
	// The bootstrap Job's admin proxy listens beside the IAM one.
	adminProxyPort       = 5433
	adminProxyHealthPort = 9802
)

// databaseSecretName is the Secret holding the database user a component
// presents. Each component has its own, read through its own ConfigMap.
func databaseSecretName(component string) string { return "argo-postgres-" + component }

// databaseSecrets writes, per component, the user name Argo presents to
// PostgreSQL: the IAM database user of the very GSA its proxy logs in as
// (Database.ControllerUser, ServerUser). The password is empty: the
// proxy's --auto-iam-authn supplies a token.
func (b *builder) databaseSecrets() error {
	for _, c := range []struct {
		component string
		user      pulumi.StringInput
	}{{controllerName, b.args.Database.ControllerUser}, {serverName, b.args.Database.ServerUser}} {
		if _, err := corev1.NewSecret(b.ctx, b.child("secret-"+databaseSecretName(c.component)), &corev1.SecretArgs{
			Metadata: b.meta(databaseSecretName(c.component), c.component),
			StringData: pulumi.StringMap{
				"username": c.user,
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

// SchemaGrantScript is the grant Job's only command, and the only one that
// ever sees the admin password.
//
// Cloud SQL gives a new IAM database user no privileges, and since
// PostgreSQL 15 only the database owner (cloudsqlsuperuser here) may create
// tables in schema public, so Argo's migrations would fail with "permission
// denied for schema public". The built-in admin (a cloudsqlsuperuser member)
// grants the controller's user CREATE on public, so the controller owns the
// tables it migrates, and the server's user USAGE, so it can be granted
// tables later. Every statement is idempotent, so the Job can run again
// whenever it is replaced.
const SchemaGrantScript = `set -eu
psql "host=127.0.0.1 port=$ADMIN_PORT dbname=$DATABASE user=$ADMIN_USER sslmode=disable" \
  -v ON_ERROR_STOP=1 -v ctrl="$CONTROLLER_USER" -v srv="$SERVER_USER" <<'SQL'
GRANT USAGE, CREATE ON SCHEMA public TO :"ctrl";
GRANT USAGE ON SCHEMA public TO :"srv";
SQL
echo "argo database schema grants in place"
`

// ServerGrantScript runs as the controller's user (the tables' owner, no
// password: IAM login) once the controller has migrated, and gives the
// server's user only what argo-server does with the database:
//   - read every table (the archive, its labels, offloaded node status);
//   - delete archived workflows (the UI's and API's delete);
//   - insert offloaded node status (retrying or resubmitting an offloaded
//     workflow writes its nodes back).
//
// Nothing else: no UPDATE anywhere, no writes to the archive but deletes,
// no sequences, and any broader right an older version granted is revoked.
// It also keeps the archive where its readers look when the workflow
// namespaces move (argo.workflowNamespace): a row of this cluster in a
// namespace that is no longer a workflow namespace goes to the one it
// became, by where it ran, never by what its spec says (a workflow's author
// writes its spec; one that names an identity it could not run as must not
// be filed under that identity): an old <namespace>-<name> to the identity
// <name>'s namespace (IDENTITIES, name -> namespace), anything else to
// WORKFLOW_NAMESPACE. Rows in a current workflow namespace stay.
// Idempotent; the Job is replaced (and so runs again) whenever its
// settings change.
const ServerGrantScript = `set -eu
dsn="host=127.0.0.1 port=$IAM_PORT dbname=$DATABASE user=$CONTROLLER_USER sslmode=disable"
# The controller creates Argo's tables when it starts; wait for them, up to
# the last column this script reads (the archive's clustername).
tries=0
until [ "$(psql "$dsn" -tAc "SELECT to_regclass('public.argo_workflows') IS NOT NULL AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'argo_archived_workflows' AND column_name = 'clustername')")" = t ]; do
  tries=$((tries + 1))
  if [ "$tries" -ge "$WAIT_SECONDS" ]; then echo "Argo's tables did not appear in $WAIT_SECONDS s" >&2; exit 1; fi
  sleep 1
done
# The controller may still be migrating: each of its steps is a transaction
# that first updates schema_history, so locking that table first waits for
# the step under way and holds the next one back until COMMIT. Without it
# the two can deadlock, and PostgreSQL may pick the controller's migration
# (the controller exits). A failed attempt is retried.
until psql "$dsn" -v ON_ERROR_STOP=1 -v srv="$SERVER_USER" -v ids="$IDENTITIES" -v ns="$WORKFLOW_NAMESPACE" -v cluster="$CLUSTER_NAME" <<'SQL'
BEGIN;
LOCK TABLE schema_history IN EXCLUSIVE MODE;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"srv";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"srv";
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM :"srv";
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM :"srv";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"srv";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO :"srv";
GRANT DELETE ON argo_archived_workflows TO :"srv";
GRANT INSERT ON argo_workflows TO :"srv";
UPDATE argo_archived_workflows AS a
   SET namespace = t.ns,
       workflow = jsonb_set(a.workflow::jsonb, '{metadata,namespace}', to_jsonb(t.ns))
  FROM (SELECT r.clustername, r.uid, COALESCE(
               (SELECT i.value FROM jsonb_each_text(CAST(:'ids' AS jsonb)) AS i
                 WHERE right(r.namespace, length(i.key) + 1) = '-' || i.key
                 ORDER BY length(i.key) DESC LIMIT 1),
               :'ns') AS ns
          FROM argo_archived_workflows AS r
         WHERE r.clustername = :'cluster' AND r.namespace <> :'ns'
           AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(CAST(:'ids' AS jsonb)) AS c WHERE c.value = r.namespace)) AS t
 WHERE a.clustername = t.clustername AND a.uid = t.uid AND a.namespace <> t.ns;
COMMIT;
SQL
do
  tries=$((tries + 1))
  if [ "$tries" -ge "$WAIT_SECONDS" ]; then echo "the grants failed for $WAIT_SECONDS s" >&2; exit 1; fi
  sleep 1
done
echo "argo-server database grants in place"
`

// databaseJob is one of the two grant Jobs: script run by psql beside the
// given Auth Proxies, as the controller's KSA (its GSA may connect,
// cloudsql.client, and is the IAM user that owns Argo's tables). It waits
// for after, the GCP grants and the account it runs as.
func (b *builder) databaseJob(name, script string, env corev1.EnvVarArray, proxies corev1.ContainerArray, after pulumi.Resource) (*batchv1.Job, error) {
	a := b.args
	deps := append([]pulumi.Resource{after}, a.PodPrerequisites...)
	deps = append(deps, b.accounts...)
	psql := corev1.ContainerArgs{
		Name:    pulumi.String("grant"),
		Image:   pulumi.String(b.images.Postgres),
		Command: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-c"), pulumi.String(script)},
		Env:     env,
		// The postgres image's own non-root user.
		SecurityContext: containerSecurity(70),
		Resources:       requests("50m", "64Mi"),
	}
	job, err := batchv1.NewJob(b.ctx, b.child("job-"+name), &batchv1.JobArgs{
		Metadata: b.meta(name, bootstrapName),
		Spec: batchv1.JobSpecArgs{
			BackoffLimit: pulumi.Int(6),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: b.labels(bootstrapName)},
				Spec: corev1.PodSpecArgs{
					ServiceAccountName: pulumi.String(a.Controller.KSA),
					RestartPolicy:      pulumi.String("OnFailure"),
					SecurityContext:    podSecurity(),
					InitContainers:     proxies,
					Containers:         corev1.ContainerArray{psql},
				},
			},
		},
	}, b.inNamespace(pulumi.DependsOn(deps))...)
	if err != nil {
		return nil, fmt.Errorf("argo: database job %s: %w", name, err)
	}
	return job, nil
}

func envVar(name string, value pulumi.StringInput) corev1.EnvVarArgs {
	return corev1.EnvVarArgs{Name: pulumi.String(name), Value: value}
}

// databaseBootstrap runs SchemaGrantScript, as a Job the Deployments wait
// for. Its one container gets the admin password; it dials only the admin
// proxy (password login).
func (b *builder) databaseBootstrap() error {
	a := b.args
	env := corev1.EnvVarArray{
		envVar("DATABASE", a.Database.Name),
		envVar("ADMIN_USER", a.Database.AdminUser),
		envVar("ADMIN_PORT", pulumi.String(strconv.Itoa(adminProxyPort))),
		envVar("CONTROLLER_USER", a.Database.ControllerUser),
		envVar("SERVER_USER", a.Database.ServerUser),
		corev1.EnvVarArgs{Name: pulumi.String("PGPASSWORD"), ValueFrom: corev1.EnvVarSourceArgs{
			SecretKeyRef: corev1.SecretKeySelectorArgs{Name: pulumi.String(adminSecret), Key: pulumi.String("password")},
		}},
	}
	admin := b.proxy(adminProxyPort, adminProxyHealthPort, false)
	admin.Name = pulumi.String("cloud-sql-proxy-admin")
	// After the admin Secret it reads.
	job, err := b.databaseJob(bootstrapName, SchemaGrantScript, env, corev1.ContainerArray{admin}, b.adminSecret)
	if err != nil {
		return err
	}
	b.bootstrap = job
	return nil
}

// serverGrantWaitSeconds bounds how long the server grant Job waits for the
// controller's migration (a fresh database migrates in seconds).
const serverGrantWaitSeconds = 600

// serverGrants runs ServerGrantScript after the controller, as a Job the
// server waits for. No password: the controller's IAM login.
func (b *builder) serverGrants() error {
	a := b.args
	env := corev1.EnvVarArray{
		envVar("DATABASE", a.Database.Name),
		envVar("IAM_PORT", pulumi.String(strconv.Itoa(postgresPort))),
		envVar("CONTROLLER_USER", a.Database.ControllerUser),
		envVar("SERVER_USER", a.Database.ServerUser),
		envVar("IDENTITIES", pulumi.String(b.identitiesJSON())),
		envVar("WORKFLOW_NAMESPACE", pulumi.String(a.WorkflowNamespace)),
		envVar("CLUSTER_NAME", pulumi.String(a.ClusterName)),
		envVar("WAIT_SECONDS", pulumi.String(strconv.Itoa(serverGrantWaitSeconds))),
	}
	iam := b.proxy(postgresPort, proxyHealthPort, true)
	// After the controller, whose start migrates the tables.
	job, err := b.databaseJob(serverGrantName, ServerGrantScript, env, corev1.ContainerArray{iam}, b.controllerDeployment)
	if err != nil {
		return err
	}
	b.serverGrant = job
	return nil
}

// identitiesJSON is each workflow identity's namespace, as the server grant
// Job's IDENTITIES: a JSON object, name -> namespace.
func (b *builder) identitiesJSON() string {
	m := map[string]string{}
	for _, wi := range b.args.Identities {
		m[wi.KSA] = wi.Namespace
	}
	text, err := json.Marshal(m) // sorted keys: the same text every run
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(text)
}
