//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/tests/localpg"
)

// startPostgres starts a throwaway PostgreSQL for one test.
func startPostgres(t *testing.T) *localpg.Server {
	t.Helper()
	p, err := localpg.Start()
	if errors.Is(err, localpg.ErrNotInstalled) {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
		}
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	t.Logf("test process uid %d: PostgreSQL's server tools run %s", os.Geteuid(), localpg.How())
	return p
}

// The users of the grant tests, as Cloud SQL names IAM users.
const (
	grantCtrl = "argo-ctrl-staging@acme.iam"
	grantSrv  = "argo-server-staging@acme.iam"
)

// runScript runs one grant Job's script against p with env, as the Job's
// container would (psql from p's installation).
func runScript(t *testing.T, p *localpg.Server, script string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+p.Bin+":"+os.Getenv("PATH"))
	cmd.Env = append(cmd.Env,
		"ADMIN_PORT="+strconv.Itoa(p.Port), "IAM_PORT="+strconv.Itoa(p.Port),
		"DATABASE=argo", "ADMIN_USER=argo-admin",
		"CONTROLLER_USER="+grantCtrl, "SERVER_USER="+grantSrv,
		`IDENTITIES={"loader":"workflows-loader"}`, "WORKFLOW_NAMESPACE=workflows", "CLUSTER_NAME=argo-staging",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// argoTables are Argo's two tables the grants name, with the columns the
// scripts touch, and its migration's version table (the real controller's
// migration creates them in TestStacks; here the controller's user creates
// them the same way).
const argoTables = `
CREATE TABLE schema_history (schema_version int NOT NULL, PRIMARY KEY (schema_version));
INSERT INTO schema_history VALUES (68);
CREATE TABLE argo_archived_workflows (clustername varchar(64) NOT NULL, uid varchar(128) NOT NULL, namespace varchar(256) NOT NULL, workflow jsonb NOT NULL, PRIMARY KEY (clustername, uid));
CREATE TABLE argo_workflows (clustername varchar(64) NOT NULL, uid varchar(128) NOT NULL, version varchar(64) NOT NULL, namespace varchar(256) NOT NULL, nodes text NOT NULL, PRIMARY KEY (clustername, uid, version));
INSERT INTO argo_archived_workflows VALUES
  ('argo-staging', 'u1', 'argo', '{"metadata": {"name": "old", "namespace": "argo"}}'),
  ('argo-staging', 'u2', 'argo', '{"metadata": {"name": "gone", "namespace": "argo"}}'),
  ('other-cluster', 'u3', 'argo', '{"metadata": {"name": "theirs", "namespace": "argo"}}'),
  ('argo-staging', 'u4', 'workflows', '{"metadata": {"name": "loads", "namespace": "workflows"}, "spec": {"serviceAccountName": "loader"}}'),
  ('argo-staging', 'u5', 'argo', '{"metadata": {"name": "by-ref", "namespace": "argo"}, "status": {"storedWorkflowTemplateSpec": {"serviceAccountName": "loader"}}}'),
  ('argo-staging', 'u6', 'workflows', '{"metadata": {"name": "removed", "namespace": "workflows"}, "spec": {"serviceAccountName": "retired"}}'),
  ('argo-staging', 'u7', 'argo', '{"metadata": {"name": "default", "namespace": "argo"}, "spec": {"serviceAccountName": "argo-workflow"}}'),
  ('argo-staging', 'u8', 'old-loader', '{"metadata": {"name": "loaded", "namespace": "old-loader"}, "spec": {"serviceAccountName": "loader"}}'),
  ('argo-staging', 'u9', 'workflows-loader', '{"metadata": {"name": "stays", "namespace": "workflows-loader"}}');
`

// TestGrantScriptsOnRealPostgres runs both grant Jobs' scripts against a
// real PostgreSQL set up the way Cloud SQL sets one up: the database owned
// by cloudsqlsuperuser, a built-in admin in that role, and IAM users with no
// privileges. Without the schema grants the controller cannot create Argo's
// tables; after the server grants, the server reads everything, deletes
// archived workflows and writes offloaded nodes, and nothing more, whatever
// an older version granted it; archived rows of this cluster follow the
// workflow namespace.
func TestGrantScriptsOnRealPostgres(t *testing.T) {
	p := startPostgres(t)
	setup := fmt.Sprintf(`
CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
CREATE ROLE "argo-admin" LOGIN IN ROLE cloudsqlsuperuser;
CREATE ROLE %q LOGIN;
CREATE ROLE %q LOGIN;
CREATE DATABASE argo OWNER cloudsqlsuperuser;
`, grantCtrl, grantSrv)
	out, err := p.SQL("postgres", "", "postgres", setup)
	require.NoError(t, err, out)

	out, err = p.SQL(grantCtrl, "", "argo", argoTables)
	require.Error(t, err, "PostgreSQL 15+ refuses tables in public to a new IAM user")
	assert.Contains(t, out, "permission denied for schema public")

	out, err = runScript(t, p, argo.ServerGrantScript, "WAIT_SECONDS=2")
	require.Error(t, err, "the server grants wait for the controller's tables, then give up: %s", out)
	assert.Contains(t, out, "did not appear in 2 s")

	start := time.Now()
	out, err = runScript(t, p, argo.SchemaGrantScript, "PGPASSWORD=unused-with-trust")
	require.NoError(t, err, out)
	assert.Contains(t, out, "argo database schema grants in place")
	t.Logf("schema grants ran in %s", time.Since(start).Round(time.Millisecond))

	out, err = p.SQL(grantCtrl, "", "argo", argoTables)
	require.NoError(t, err, "the controller migrates after the schema grants: %s", out)
	// What an older version of the Job granted: everything on every table.
	out, err = p.SQL(grantCtrl, "", "argo", fmt.Sprintf(`
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %[1]q;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %[1]q;`, grantSrv))
	require.NoError(t, err, out)

	for range 2 { // idempotent: each Job may run again when it is replaced
		out, err = runScript(t, p, argo.ServerGrantScript, "WAIT_SECONDS=5")
		require.NoError(t, err, out)
		assert.Contains(t, out, "argo-server database grants in place")
	}

	// The controller may still be migrating when the Job starts: Argo's
	// migration runs each step as a transaction that updates schema_history
	// first and then alters tables, here one that holds argo_workflows while
	// the grants start and alters argo_archived_workflows after them.
	migrated := make(chan string, 1)
	go func() {
		out, err := p.SQL(grantCtrl, "", "argo", `BEGIN;
UPDATE schema_history SET schema_version = schema_version + 1;
ALTER TABLE argo_workflows ADD COLUMN step_a int;
SELECT pg_sleep(2);
ALTER TABLE argo_archived_workflows ADD COLUMN step_b int;
COMMIT;`)
		if err != nil {
			out = "migration step failed: " + err.Error() + ": " + out
		} else {
			out = ""
		}
		migrated <- out
	}()
	require.Eventually(t, func() bool {
		out, err := p.SQL("postgres", "", "argo", `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'argo_workflows' AND l.mode = 'AccessExclusiveLock' AND l.granted;`)
		return err == nil && strings.TrimSpace(out) == "1"
	}, 30*time.Second, 20*time.Millisecond, "the migration step holds argo_workflows")
	out, err = runScript(t, p, argo.ServerGrantScript, "WAIT_SECONDS=30")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "deadlock", "the grants waited for the step instead of deadlocking with it")
	assert.Empty(t, <-migrated, "the migration step was not the one PostgreSQL aborted")

	server := func(sql string) (string, error) { return p.SQL(grantSrv, "", "argo", sql) }
	out, err = server(`SELECT count(*) FROM argo_archived_workflows; SELECT count(*) FROM argo_workflows;`)
	assert.NoError(t, err, "the server reads the archive and offloaded nodes: %s", out)
	out, err = server(`DELETE FROM argo_archived_workflows WHERE uid = 'u2';`)
	assert.NoError(t, err, "the server deletes archived workflows: %s", out)
	out, err = server(`INSERT INTO argo_workflows VALUES ('argo-staging', 'u9', 'v1', 'workflows', '{}');`)
	assert.NoError(t, err, "the server writes offloaded nodes back: %s", out)
	for _, refused := range []string{
		`UPDATE argo_archived_workflows SET namespace = 'x';`,
		`INSERT INTO argo_archived_workflows VALUES ('argo-staging', 'u8', 'workflows', '{}');`,
		`UPDATE argo_workflows SET nodes = '{}';`,
		`DELETE FROM argo_workflows;`,
		`CREATE TABLE server_table (x int);`,
	} {
		out, err = server(refused)
		if assert.Error(t, err, "the server may not: %s", refused) {
			assert.Contains(t, out, "permission denied", refused)
		}
	}
	// A table the controller migrates later: readable, not writable.
	out, err = p.SQL(grantCtrl, "", "argo", `CREATE TABLE argo_later (x int); INSERT INTO argo_later VALUES (1);`)
	require.NoError(t, err, out)
	out, err = server(`SELECT x FROM argo_later;`)
	assert.NoError(t, err, "new tables are readable: %s", out)
	_, err = server(`DELETE FROM argo_later;`)
	assert.Error(t, err, "new tables are not writable")

	out, err = p.SQL(grantCtrl, "", "argo", `SELECT clustername || ':' || uid || ':' || namespace || ':' || (workflow->'metadata'->>'namespace') FROM argo_archived_workflows ORDER BY uid;`)
	require.NoError(t, err, out)
	// A row in a namespace that is no longer a workflow namespace goes to
	// the one it became, by where it ran: an old <namespace>-<name> to the
	// identity's, anything else to the workflow namespace. Never by what its
	// spec names (an author's choice).
	assert.Contains(t, out, "argo-staging:u1:workflows:workflows", "this cluster's archive follows the workflow namespace")
	assert.Contains(t, out, "argo-staging:u4:workflows:workflows", "a row in the workflow namespace stays, whatever account its spec names")
	assert.Contains(t, out, "argo-staging:u5:workflows:workflows", "a row's spec or template does not decide where it goes")
	assert.Contains(t, out, "argo-staging:u6:workflows:workflows")
	assert.Contains(t, out, "argo-staging:u7:workflows:workflows")
	assert.Contains(t, out, "argo-staging:u8:workflows-loader:workflows-loader", "an identity's old namespace goes to its new one")
	assert.Contains(t, out, "argo-staging:u9:workflows-loader:workflows-loader", "a row in an identity's namespace stays")
	assert.Contains(t, out, "other-cluster:u3:argo:argo", "another cluster's rows are left alone")

	out, err = runScript(t, p, argo.SchemaGrantScript, "PGPASSWORD=unused-with-trust")
	require.NoError(t, err, out)
}
