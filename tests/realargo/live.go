package realargo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests/iam"
	"github.com/argo-platform/argo-platform/tests/localpg"
)

// ServerURL is where the real argo server listens (its Deployment's port).
const ServerURL = "http://127.0.0.1:2746"

// Live is a deployed stack's Argo side running for real: PostgreSQL as
// Cloud SQL holds it after `pulumi up`, the grant Job's script run, the
// controller and the server started from their Deployments, and the
// executor played.
type Live struct {
	// PG is the archive database server.
	PG *localpg.Server
	// Controller and Server are the running binaries.
	Controller, Server *Component
	// Executor plays the wait container and the kubelet for workflow pods.
	Executor *Executor
	// Cloud plays GKE's metadata server and GCS for the executor, by the
	// IAM the program registers for the stack (kept across restarts).
	Cloud *iam.Cloud
	// GrantOutput is what the grant Jobs' scripts printed.
	GrantOutput string
	// SignIn plays Google's sign-in (kept across restarts); Session is the
	// operator's (Operator), the Authorization header's value.
	SignIn  *SignIn
	Session string

	stopPlayer context.CancelFunc
	forwarders *Forwarders
	// ledgers are every strace record of each component's lifetimes, by
	// Deployment name (Options.RecordConnections): Connects.
	ledgers map[string][]string
}

// Connects are the distinct connections Deployment name's component opened
// in every lifetime so far (each start and restart), from strace's records
// (Options.RecordConnections).
func (l *Live) Connects(name string) ([]Connect, error) {
	if len(l.ledgers[name]) == 0 {
		return nil, fmt.Errorf("realargo: %s's connections were not recorded (Options.RecordConnections)", name)
	}
	return ReadConnects(l.ledgers[name]...)
}

func (l *Live) recordLedger(c *Component) {
	if c.Ledger == "" {
		return
	}
	if l.ledgers == nil {
		l.ledgers = map[string][]string{}
	}
	l.ledgers[c.Name] = append(l.ledgers[c.Name], c.Ledger)
}

// Run brings a deployed stack's Argo side up for real, in order: the
// database as Cloud SQL sets it up, the schema grant Job's script, the
// proxies' stand-ins, the controller, the server grant Job's script (once
// the controller has migrated), the server (until its API answers), and
// the executor, which ends each step as decide says. Stop it with Stop.
func Run(ctx context.Context, o Options, cfg *stacks.Loaded, decide func(*corev1.Pod) Outcome) (_ *Live, err error) {
	l := &Live{}
	defer func() {
		if err != nil {
			l.Stop()
		}
	}()
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if l.PG, err = localpg.Start(); err != nil {
		return nil, err
	}
	n := stacks.NamesFor(cfg.Settings)
	if err := l.PG.CloudSQL(localpg.Instance{
		Database: n.Database, AdminUser: n.AdminUser, Password: cfg.DatabaseAdminPassword,
		IAMUsers: []string{
			google.DatabaseUser(n.Controller.Email(cfg.Project)),
			google.DatabaseUser(n.Server.Email(cfg.Project)),
		},
	}); err != nil {
		return nil, err
	}
	return l, l.start(ctx, o, cfg, decide, true)
}

// Restart stops the controller, the server and the executor and starts
// them again from the Deployments and Jobs as they are now (after another
// `pulumi up`, with cfg), on the same database: what a rollout does.
func (l *Live) Restart(ctx context.Context, o Options, cfg *stacks.Loaded, decide func(*corev1.Pod) Outcome) error {
	l.stopArgo()
	return l.start(ctx, o, cfg, decide, true)
}

// StopArgo stops the executor, the server and the controller, keeping the
// database: Argo's pods gone, as while an operator restores the database.
func (l *Live) StopArgo() { l.stopArgo() }

// StartArgo starts the controller, the server and the executor again on
// the database as it is, without the grant Jobs (Pulumi runs a Job once,
// not after a restore): what Argo's pods do when they come back.
func (l *Live) StartArgo(ctx context.Context, o Options, cfg *stacks.Loaded, decide func(*corev1.Pod) Outcome) error {
	return l.start(ctx, o, cfg, decide, false)
}

// RunJob runs Job ns/name's script as it is in the cluster now, beside the
// stand-ins of its Auth Proxies, as a re-created Job would run.
func (l *Live) RunJob(ctx context.Context, o Options, ns, name string) (string, error) {
	return RunJob(ctx, o, l.forwarders, l.PG.Bin, ns, name)
}

// start runs the grant Jobs' scripts (when jobs is set) and starts Argo on
// l.PG.
func (l *Live) start(ctx context.Context, o Options, cfg *stacks.Loaded, decide func(*corev1.Pod) Outcome, jobs bool) (err error) {
	// Argo runs in its home namespace; workflows in theirs.
	ns, wfNS := cfg.Argo.Namespace, cfg.Argo.WorkflowNamespace
	l.forwarders = NewForwarders(fmt.Sprintf("127.0.0.1:%d", l.PG.Port))
	if jobs {
		if l.GrantOutput, err = RunJob(ctx, o, l.forwarders, l.PG.Bin, ns, "argo-db-bootstrap"); err != nil {
			return fmt.Errorf("realargo: the grant Job's script: %w: %s", err, l.GrantOutput)
		}
	}
	if l.SignIn == nil {
		if l.SignIn, err = StartSignIn(cfg); err != nil {
			return err
		}
	}
	for _, name := range []string{"workflow-controller", "argo-server"} {
		ports, err := DeploymentProxyPorts(ctx, o.Client, ns, name)
		if err != nil {
			return err
		}
		if len(ports) == 0 {
			return fmt.Errorf("realargo: %s has no Cloud SQL Auth Proxy", name)
		}
		if err := l.forwarders.Serve(ports...); err != nil {
			return err
		}
	}
	if l.Controller, err = Start(ctx, o, ns, "workflow-controller"); err != nil {
		return err
	}
	l.recordLedger(l.Controller)
	// The server's grants wait for the controller's tables, as the Job
	// does after the controller's Deployment.
	if jobs {
		out, err := RunJob(ctx, o, l.forwarders, l.PG.Bin, ns, "argo-db-grant-server")
		l.GrantOutput += out
		if err != nil {
			return fmt.Errorf("realargo: the server grant Job's script: %w: %s\ncontroller log:\n%s", err, out, l.Controller.Tail(20))
		}
	}
	if l.Server, err = Start(ctx, o, ns, "argo-server"); err != nil {
		return err
	}
	l.recordLedger(l.Server)
	// The server's API gateway dials the server's own gRPC port, one
	// connection per service, before the listener exists, and each retries
	// with its own backoff: the probe's initial delay covers it, and the
	// services used here are waited for one by one.
	operator, err := Operator(cfg)
	if err != nil {
		return err
	}
	if l.Session, err = l.SignIn.Login(ctx, operator); err != nil {
		return fmt.Errorf("%w; server log:\n%s", err, l.Server.Tail(30))
	}
	if err := waitAPI(ctx, wfNS, l.Session, time.Minute); err != nil {
		return fmt.Errorf("realargo: the server's API: %w; log:\n%s", err, l.Server.Tail(30))
	}
	policy, err := iam.Registered(cfg)
	if err != nil {
		return fmt.Errorf("realargo: the stack's IAM: %w", err)
	}
	if l.Cloud == nil {
		l.Cloud = iam.NewCloud(policy, cfg.Project)
	}
	l.Cloud.Policy = policy
	var playCtx context.Context
	playCtx, l.stopPlayer = context.WithCancel(ctx)
	l.Executor = PlayExecutor(playCtx, o, WorkflowNamespaces(cfg), l.Cloud, decide)
	return nil
}

func waitAPI(ctx context.Context, ns, session string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, path := range APIs(ns) {
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ServerURL+path, nil)
			req.Header.Set("Authorization", session)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = errors.New(resp.Status)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %w", path, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// APIs are the server's services the tests, the sandbox and its printed
// argo commands use, one read path each; the lists ask for one item, so
// the wait costs the same at any archive size (an unbounded list builds
// the whole archive: make bench-archive).
func APIs(ns string) []string {
	return []string{
		"/api/v1/version",
		"/api/v1/info",
		"/api/v1/workflows/" + ns + "?listOptions.limit=1",
		"/api/v1/cron-workflows/" + ns,
		"/api/v1/archived-workflows?namespace=" + ns + "&listOptions.limit=1",
	}
}

// Operator is who the tests, the sandbox and the bench sign in as: the
// first person among access.editors who may also run as the workflow
// account (the stack files' example, data-lead).
func Operator(cfg *stacks.Loaded) (string, error) {
	for _, e := range cfg.Access.Editors {
		if email, ok := strings.CutPrefix(e, "user:"); ok && slices.Contains(cfg.Access.Runners, e) {
			return email, nil
		}
	}
	return "", fmt.Errorf("realargo: access.editors names no user: who is also in access.runners; the tests sign in as one")
}

// Stop ends everything Run started (safe to call twice).
func (l *Live) Stop() {
	l.stopArgo()
	if l.SignIn != nil {
		l.SignIn.Stop()
		l.SignIn = nil
	}
	if l.PG != nil {
		l.PG.Stop()
		l.PG = nil
	}
}

// Reloads counts the controller's configuration loads so far.
func (l *Live) Reloads() int {
	return strings.Count(l.Controller.Log(), "Configuration updated")
}

// StepsAsWritten is the executor's outcome for the sandbox and for plain
// steps in the tests: the main container's command decides its exit code
// (`exit N`, else 0).
func StepsAsWritten(p *corev1.Pod) Outcome {
	return Outcome{ExitCode: CommandExitCode(p)}
}

// stopArgo stops the executor, the server, the controller and the
// forwarders, keeping the database.
func (l *Live) stopArgo() {
	if l.stopPlayer != nil {
		l.stopPlayer()
		l.stopPlayer = nil
	}
	for _, c := range []*Component{l.Server, l.Controller} {
		if c != nil {
			c.Stop()
		}
	}
	l.Server, l.Controller = nil, nil
	if l.forwarders != nil {
		l.forwarders.Close()
	}
}

// WorkflowNamespaces are the stack's workflow namespaces: the workflow
// namespace, then each identity's.
func WorkflowNamespaces(cfg *stacks.Loaded) []string {
	out := []string{cfg.Argo.WorkflowNamespace}
	for _, wi := range cfg.Identities {
		out = append(out, stacks.IdentityNamespace(cfg.Settings, wi))
	}
	return out
}

// CopyArchived copies archived workflow uid (its row and its label rows,
// as Argo wrote them) in database db to rows from..to: row i is named
// archived-<i> with a uid of its own and one of 40 `pipeline` labels
// (p<i mod 40>, in its labels and in Argo's label table), started ago plus
// (i-from) spacings before now and finished 20 minutes later. What a busy
// archive holds, written in SQL in seconds rather than by running each.
func (l *Live) CopyArchived(db, uid string, from, to int, ago, spacing time.Duration) error {
	sql := fmt.Sprintf(`
CREATE TEMP TABLE c AS
  SELECT i, gen_random_uuid()::text AS uid, 'archived-' || i AS name, 'p' || (i %% 40) AS pipeline,
         now() - make_interval(secs => %[4]f + (i - %[2]d) * %[5]f) AS started
  FROM generate_series(%[2]d, %[3]d) i;
INSERT INTO argo_archived_workflows (clustername, instanceid, uid, name, namespace, phase, startedat, finishedat, creationtimestamp, workflow)
  SELECT t.clustername, t.instanceid, c.uid, c.name, t.namespace, t.phase, c.started, c.started + interval '20 minutes', c.started,
         jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(t.workflow,
           '{metadata,uid}', to_jsonb(c.uid)), '{metadata,name}', to_jsonb(c.name)),
           '{metadata,labels,pipeline}', to_jsonb(c.pipeline)),
           '{status,startedAt}', to_jsonb(to_char(c.started AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
           '{status,finishedAt}', to_jsonb(to_char((c.started + interval '20 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
  FROM argo_archived_workflows t, c WHERE t.uid = '%[1]s';
INSERT INTO argo_archived_workflows_labels (clustername, uid, name, value)
  SELECT l.clustername, c.uid, l.name, l.value FROM argo_archived_workflows_labels l, c WHERE l.uid = '%[1]s'
  UNION ALL
  SELECT t.clustername, c.uid, 'pipeline', c.pipeline FROM argo_archived_workflows t, c WHERE t.uid = '%[1]s';
DROP TABLE c;
ANALYZE argo_archived_workflows;
ANALYZE argo_archived_workflows_labels;
`, uid, from, to, ago.Seconds(), spacing.Seconds())
	if out, err := l.PG.SQL("postgres", "", db, sql); err != nil {
		return fmt.Errorf("realargo: copying archived workflow %s: %w: %s", uid, err, out)
	}
	return nil
}

// CLI is the real argo CLI (bin/argo) running args against the server as
// the operator (Session), in namespace ns, as the sandbox prints it.
func (l *Live) CLI(ctx context.Context, bin, ns string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "argo"), args...)
	cmd.Env = append(os.Environ(), "ARGO_SERVER="+strings.TrimPrefix(ServerURL, "http://"), "ARGO_HTTP1=true",
		"ARGO_SECURE=false", "ARGO_NAMESPACE="+ns, "ARGO_TOKEN="+l.Session)
	return cmd
}

// MemoryLimit is the memory limit of Deployment ns/name's main container,
// in bytes (on Autopilot, also its request: where GKE kills it).
func MemoryLimit(ctx context.Context, client kubernetes.Interface, ns, name string) (int64, error) {
	dep, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	q, ok := dep.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory]
	if !ok {
		return 0, fmt.Errorf("realargo: %s sets no memory limit", name)
	}
	return q.Value(), nil
}
