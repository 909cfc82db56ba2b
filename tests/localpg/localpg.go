// Package localpg runs a throwaway PostgreSQL server (Debian's package) on
// loopback and sets it up the way Cloud SQL sets up an instance, for the
// end-to-end tests and the sandbox.
package localpg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/argo-platform/argo-platform/tests/localcluster"
)

// ErrNotInstalled is returned by Start when no PostgreSQL server is
// installed.
var ErrNotInstalled = errors.New("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")

// Server is a running PostgreSQL.
type Server struct {
	// Bin holds PostgreSQL's programs (psql, initdb, pg_ctl).
	Bin string
	// Port is where it listens on 127.0.0.1.
	Port int
	dir  string
}

// Installed returns the folder of the newest installed PostgreSQL's
// programs, or ErrNotInstalled.
func Installed() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", ErrNotInstalled
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// Start initialises and starts a server in a new folder, trusting every
// local connection until CloudSQL says otherwise. Stop it with Stop.
func Start() (*Server, error) {
	bin, err := Installed()
	if err != nil {
		return nil, err
	}
	// A folder the postgres user can enter (a test's temporary folder may
	// sit under a private one).
	dir, err := os.MkdirTemp("", "argo-platform-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, dir: dir}
	ports, err := localcluster.FreePorts(1)
	if err != nil {
		return nil, err
	}
	s.Port = ports[0]
	data := filepath.Join(dir, "data")
	if err := s.tool("initdb", "-D", data, "--auth=trust", "-U", "postgres"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.tool("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.Port, dir)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// How says how this process runs PostgreSQL's server tools.
func How() string {
	if os.Geteuid() == 0 {
		return "through runuser as postgres"
	}
	return "directly"
}

// tool runs one of PostgreSQL's server tools as the user that may run it:
// through runuser as the postgres user when this process is root (initdb
// refuses root, and only root may use runuser), directly otherwise (a
// GitHub runner).
func (s *Server) tool(name string, args ...string) error {
	path := filepath.Join(s.Bin, name)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// Stop stops the server and removes its folder.
func (s *Server) Stop() {
	_ = s.tool("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(s.dir)
}

// SQL runs statements as user in database db (password for a user that
// needs one, else empty) and returns what psql printed.
func (s *Server) SQL(user, password, db, statements string) (string, error) {
	cmd := exec.Command(filepath.Join(s.Bin, "psql"), "-v", "ON_ERROR_STOP=1", "-qAt",
		fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s sslmode=disable", s.Port, db, user))
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	cmd.Stdin = strings.NewReader(statements)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// SetPassword gives user a new password, as Cloud SQL does when a built-in
// user's password is updated (gcp:sql/user:User).
func (s *Server) SetPassword(user, password string) error {
	if out, err := s.SQL("postgres", "", "postgres", fmt.Sprintf("ALTER ROLE %s PASSWORD %s;", ident(user), literal(password))); err != nil {
		return fmt.Errorf("password of %s: %w: %s", user, err, out)
	}
	return nil
}

// Dump writes database db to file in pg_dump's custom format, as the
// postgres superuser: the whole database with its owners and grants, a
// consistent snapshot even while others write (what a backup holds of the
// archive).
func (s *Server) Dump(db, file string) error {
	return s.client("pg_dump", "--format=custom", "--create", "--file="+file, s.dsn(db))
}

// Restore drops database db (ending every session on it, as losing the
// instance would) and creates it again from a Dump: its owner, its grants,
// Argo's tables and their rows as they were when the dump was taken.
func (s *Server) Restore(db, file string) error {
	if out, err := s.SQL("postgres", "", "postgres", fmt.Sprintf("DROP DATABASE %s WITH (FORCE);", ident(db))); err != nil {
		return fmt.Errorf("drop %s: %w: %s", db, err, out)
	}
	return s.client("pg_restore", "--create", "--exit-on-error", "--dbname="+s.dsn("postgres"), file)
}

// dsn is how a client tool reaches database db as the postgres superuser.
func (s *Server) dsn(db string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=postgres sslmode=disable", s.Port, db)
}

// client runs one of PostgreSQL's client tools (any user may).
func (s *Server) client(name string, args ...string) error {
	if out, err := exec.Command(filepath.Join(s.Bin, name), args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// Instance is what a Cloud SQL for PostgreSQL instance holds after
// `pulumi up`: a database, its built-in admin user with a password, and
// IAM database users.
type Instance struct {
	Database            string
	AdminUser, Password string
	IAMUsers            []string
}

// CloudSQL sets the server up as Cloud SQL sets up an instance: the
// database owned by cloudsqlsuperuser, the built-in admin a member of that
// role who logs in with its password, and IAM users with no privileges at
// all (since PostgreSQL 15 not even CREATE in schema public). An IAM user
// logs in through the Cloud SQL Auth Proxy with a token, which is played
// here by trusting its name.
func (s *Server) CloudSQL(in Instance) error {
	var b strings.Builder
	b.WriteString("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cloudsqlsuperuser') THEN CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB; END IF; END $$;\n")
	fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD %s IN ROLE cloudsqlsuperuser;\n", ident(in.AdminUser), literal(in.Password))
	for _, u := range in.IAMUsers {
		fmt.Fprintf(&b, "CREATE ROLE %s LOGIN;\n", ident(u))
	}
	fmt.Fprintf(&b, "CREATE DATABASE %s OWNER cloudsqlsuperuser;\n", ident(in.Database))
	if out, err := s.SQL("postgres", "", "postgres", b.String()); err != nil {
		return fmt.Errorf("cloud sql setup: %w: %s", err, out)
	}
	hba := fmt.Sprintf("local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all %s 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n", ident(in.AdminUser))
	if err := os.WriteFile(filepath.Join(s.dir, "data", "pg_hba.conf"), []byte(hba), 0o644); err != nil {
		return err
	}
	if out, err := s.SQL("postgres", "", "postgres", "SELECT pg_reload_conf();"); err != nil {
		return fmt.Errorf("reload: %w: %s", err, out)
	}
	return nil
}

func ident(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
