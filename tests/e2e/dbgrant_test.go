//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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

// TestGrantScriptOnRealPostgres runs the grant Job's script against a real
// PostgreSQL set up the way Cloud SQL sets one up: the database owned by
// cloudsqlsuperuser, a built-in admin in that role, and IAM users with no
// privileges. Without the script the controller cannot create Argo's
// tables; with it, the controller migrates and the server reads and writes.
func TestGrantScriptOnRealPostgres(t *testing.T) {
	p := startPostgres(t)
	const ctrl, srv = "argo-ctrl-staging@acme.iam", "argo-server-staging@acme.iam"
	setup := fmt.Sprintf(`
CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
CREATE ROLE "argo-admin" LOGIN IN ROLE cloudsqlsuperuser;
CREATE ROLE %q LOGIN;
CREATE ROLE %q LOGIN;
CREATE DATABASE argo OWNER cloudsqlsuperuser;
`, ctrl, srv)
	out, err := p.SQL("postgres", "", "postgres", setup)
	require.NoError(t, err, out)

	migrate := `CREATE TABLE argo_archived_workflows (id serial PRIMARY KEY, name text);`
	out, err = p.SQL(ctrl, "", "argo", migrate)
	require.Error(t, err, "PostgreSQL 15+ refuses tables in public to a new IAM user")
	assert.Contains(t, out, "permission denied for schema public")

	run := func() {
		cmd := exec.Command("/bin/sh", "-c", argo.GrantScript)
		cmd.Env = append(os.Environ(), "PATH="+p.Bin+":"+os.Getenv("PATH"))
		cmd.Env = append(cmd.Env,
			"ADMIN_PORT="+strconv.Itoa(p.Port), "IAM_PORT="+strconv.Itoa(p.Port),
			"DATABASE=argo", "ADMIN_USER=argo-admin",
			"CONTROLLER_USER="+ctrl, "SERVER_USER="+srv, "PGPASSWORD=unused-with-trust",
		)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "argo database grants in place")
	}
	start := time.Now()
	run()
	t.Logf("grant script ran in %s", time.Since(start).Round(time.Millisecond))

	out, err = p.SQL(ctrl, "", "argo", migrate+`INSERT INTO argo_archived_workflows (name) VALUES ('by-controller');`)
	require.NoError(t, err, "the controller migrates after the grants: %s", out)
	out, err = p.SQL(srv, "", "argo", `
INSERT INTO argo_archived_workflows (name) VALUES ('by-server');
UPDATE argo_archived_workflows SET name = 'renamed' WHERE name = 'by-server';
SELECT count(*) FROM argo_archived_workflows;
DELETE FROM argo_archived_workflows WHERE name = 'renamed';`)
	require.NoError(t, err, "the server reads and writes the controller's tables: %s", out)
	assert.Contains(t, out, "2")
	out, err = p.SQL(srv, "", "argo", `CREATE TABLE server_table (x int);`)
	assert.Error(t, err, "the server may not create tables: %s", out)

	run() // idempotent: the Job may run again when it is replaced
}
