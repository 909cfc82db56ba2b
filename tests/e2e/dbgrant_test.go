//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/argo"
)

// postgres is a throwaway PostgreSQL server (Debian's package) on loopback.
type postgres struct {
	bin, dir string
	port     int
}

func startPostgres(t *testing.T) *postgres {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
		}
		t.Skip("PostgreSQL server not installed (apt-get install postgresql)")
	}
	// A folder the postgres user can enter (t.TempDir's parent is private).
	dir, err := os.MkdirTemp("", "argo-platform-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &postgres{bin: filepath.Dir(matches[len(matches)-1]), dir: dir}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	// initdb refuses to run as root: as root, run the server as Debian's
	// postgres user; as anyone else (a GitHub runner), as that user.
	require.NoError(t, os.Chmod(p.dir, 0o777))
	how := "directly"
	if os.Geteuid() == 0 {
		how = "through runuser as postgres"
	}
	t.Logf("test process uid %d: PostgreSQL's server tools run %s", os.Geteuid(), how)
	data := filepath.Join(p.dir, "data")
	p.server(t, "initdb", "-D", data, "--auth=trust", "-U", "postgres").run(t)
	p.server(t, "pg_ctl", "-D", data, "-l", filepath.Join(p.dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.dir)).run(t)
	t.Cleanup(func() {
		_ = p.server(t, "pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
	})
	return p
}

// serverCmd is a PostgreSQL server tool run as the user that may run it.
type serverCmd struct{ *exec.Cmd }

// server prepares one of PostgreSQL's server tools: through runuser as the
// postgres user when this process is root (only root may use runuser, and
// initdb refuses root), directly otherwise.
func (p *postgres) server(t *testing.T, tool string, args ...string) serverCmd {
	t.Helper()
	path := filepath.Join(p.bin, tool)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = p.dir
	return serverCmd{cmd}
}

func (c serverCmd) run(t *testing.T) {
	t.Helper()
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%s: %s", c.Args, out)
}

// sql runs statements as user in database db and returns the error text.
func (p *postgres) sql(user, db, statements string) (string, error) {
	cmd := exec.Command(filepath.Join(p.bin, "psql"), "-v", "ON_ERROR_STOP=1", "-qAt",
		fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s sslmode=disable", p.port, db, user))
	cmd.Stdin = strings.NewReader(statements)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
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
	out, err := p.sql("postgres", "postgres", setup)
	require.NoError(t, err, out)

	migrate := `CREATE TABLE argo_archived_workflows (id serial PRIMARY KEY, name text);`
	out, err = p.sql(ctrl, "argo", migrate)
	require.Error(t, err, "PostgreSQL 15+ refuses tables in public to a new IAM user")
	assert.Contains(t, out, "permission denied for schema public")

	run := func() {
		cmd := exec.Command("/bin/sh", "-c", argo.GrantScript)
		cmd.Env = append(os.Environ(),
			"ADMIN_PORT="+strconv.Itoa(p.port), "IAM_PORT="+strconv.Itoa(p.port),
			"DATABASE=argo", "ADMIN_USER=argo-admin",
			"CONTROLLER_USER="+ctrl, "SERVER_USER="+srv, "PGPASSWORD=unused-with-trust",
		)
		cmd.Dir = p.dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "argo database grants in place")
	}
	start := time.Now()
	run()
	t.Logf("grant script ran in %s", time.Since(start).Round(time.Millisecond))

	out, err = p.sql(ctrl, "argo", migrate+`INSERT INTO argo_archived_workflows (name) VALUES ('by-controller');`)
	require.NoError(t, err, "the controller migrates after the grants: %s", out)
	out, err = p.sql(srv, "argo", `
INSERT INTO argo_archived_workflows (name) VALUES ('by-server');
UPDATE argo_archived_workflows SET name = 'renamed' WHERE name = 'by-server';
SELECT count(*) FROM argo_archived_workflows;
DELETE FROM argo_archived_workflows WHERE name = 'renamed';`)
	require.NoError(t, err, "the server reads and writes the controller's tables: %s", out)
	assert.Contains(t, out, "2")
	out, err = p.sql(srv, "argo", `CREATE TABLE server_table (x int);`)
	assert.Error(t, err, "the server may not create tables: %s", out)

	run() // idempotent: the Job may run again when it is replaced
}
