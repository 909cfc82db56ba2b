package iam

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
)

// row is one line of the permission matrix: what a principal's real code
// path does (or must never be able to do), and whether the registered IAM
// allows it.
type row struct {
	who, what string
	// req is checked permission by permission; declared (a workflow
	// identity's own grant, whose role's permissions are the team's
	// business) is checked as the grant itself.
	req      *Request
	declared *grant
	allowed  bool
}

type grant struct {
	member, role string
	on           Resource
}

func (r row) String() string { return r.who + " " + r.what }

// matrix is the specification of who may do what in stack: every principal
// the platform creates and every action its code path performs, plus the
// actions that must stay out of reach. Names and e-mails are written out
// here, not taken from the code under test.
func matrix(t *testing.T, stack string) ([]row, Policy) {
	cfg, err := localdeploy.Settings(stack, nil)
	require.NoError(t, err)
	p, env := cfg.Project, cfg.Environment
	home, wfNS := cfg.Argo.Namespace, cfg.Argo.WorkflowNamespace
	bucket := p + "-argo-logs-" + env
	email := func(id string) string { return id + "@" + p + ".iam.gserviceaccount.com" }
	sa := func(id string) string { return "serviceAccount:" + email(id) }
	instance := Instance(p, "argo-"+env)
	object := func(name string) Resource { return Object(p, bucket, name) }
	day := "2026/12/04/nightly-x7k2p/nightly-x7k2p-load-123"

	type account struct {
		who, id, ns, ksa string
	}
	controller := account{"the controller", "argo-ctrl-" + env, home, "argo-workflow-controller"}
	server := account{"the server", "argo-server-" + env, home, "argo-server"}
	workflows := []account{{"the default workflow account", "argo-wf-" + env, wfNS, "argo-workflow"}}
	for _, wi := range cfg.Identities {
		// Each identity in a namespace of its own: <workflow namespace>-<name>.
		workflows = append(workflows, account{"the workflow identity " + wi.Name, wi.Name + "-" + env, wfNS + "-" + wi.Name, wi.Name})
	}
	nodes := "serviceAccount:" + email("argo-nodes-"+env)

	var rows []row
	add := func(allowed bool, who, what string, req Request) {
		rows = append(rows, row{who: who, what: what, req: &req, allowed: allowed})
	}
	// Every component's pods get a token for its own Google account, and
	// for no other component's.
	all := append([]account{controller, server}, workflows...)
	for _, a := range all {
		add(true, a.who, "runs as its own Google account (Workload Identity)", ActAs(p, a.ns, a.ksa, email(a.id)))
		for _, b := range all {
			if b != a {
				add(false, a.who, "runs as "+b.who+"'s Google account", ActAs(p, a.ns, a.ksa, email(b.id)))
			}
		}
	}
	// The archive: the controller writes it, the server reads it, through
	// the Auth Proxy with IAM login.
	for _, a := range []account{controller, server} {
		add(true, a.who, "connects to the database through the Auth Proxy", Request{Principal: sa(a.id), Permission: "cloudsql.instances.connect", Resource: instance})
		add(true, a.who, "logs in to the database as its IAM user", Request{Principal: sa(a.id), Permission: "cloudsql.instances.login", Resource: instance})
	}
	// The UI shows every step's logs and artifacts, old and new.
	for _, w := range workflows {
		add(true, server.who, "reads the logs of "+w.who, Request{Principal: sa(server.id), Permission: "storage.objects.get", Resource: object("argo/" + w.ksa + "/" + day + "/main.log")})
	}
	add(true, server.who, "reads logs archived before the per-account folders", Request{Principal: sa(server.id), Permission: "storage.objects.get", Resource: object("argo/" + day + "/main.log")})
	add(true, server.who, "lists an artifact's objects", Request{Principal: sa(server.id), Permission: "storage.objects.list", Resource: Bucket(p, bucket), ListPrefix: "argo/argo-workflow/" + day + "/out.tgz"})
	add(false, server.who, "overwrites or deletes a log", Request{Principal: sa(server.id), Permission: "storage.objects.delete", Resource: object("argo/argo-workflow/" + day + "/main.log")})
	add(false, server.who, "writes a log", Request{Principal: sa(server.id), Permission: "storage.objects.create", Resource: object("argo/argo-workflow/" + day + "/main.log")})
	// The controller never opens the bucket.
	add(false, controller.who, "reads a log", Request{Principal: sa(controller.id), Permission: "storage.objects.get", Resource: object("argo/argo-workflow/" + day + "/main.log")})
	add(false, controller.who, "writes a log", Request{Principal: sa(controller.id), Permission: "storage.objects.create", Resource: object("argo/argo-workflow/" + day + "/main.log")})

	for _, w := range workflows {
		own := "argo/" + w.ksa + "/"
		// Argo's wait container uploads the log and output artifacts
		// (create, and delete to overwrite on a retry); the init container
		// lists an input artifact's key, then reads its objects.
		for _, perm := range []string{"storage.objects.create", "storage.objects.delete", "storage.objects.get"} {
			add(true, w.who, "archives its steps' logs and artifacts ("+perm+")", Request{Principal: sa(w.id), Permission: perm, Resource: object(own + day + "/main.log")})
		}
		add(true, w.who, "lists its own input artifact's objects", Request{Principal: sa(w.id), Permission: "storage.objects.list", Resource: Bucket(p, bucket), ListPrefix: own + day + "/out.tgz"})
		for _, o := range workflows {
			if o == w {
				continue
			}
			theirs := "argo/" + o.ksa + "/" + day + "/main.log"
			for _, perm := range []string{"storage.objects.get", "storage.objects.create", "storage.objects.delete", "storage.objects.update"} {
				add(false, w.who, "touches "+o.who+"'s logs ("+perm+")", Request{Principal: sa(w.id), Permission: perm, Resource: object(theirs)})
			}
			add(false, w.who, "lists "+o.who+"'s logs", Request{Principal: sa(w.id), Permission: "storage.objects.list", Resource: Bucket(p, bucket), ListPrefix: "argo/" + o.ksa + "/"})
		}
		// A folder whose name starts with this account's: the slash ends
		// every prefix.
		add(false, w.who, "reads the folder of an account named like it with more", Request{Principal: sa(w.id), Permission: "storage.objects.get", Resource: object("argo/" + w.ksa + "x/" + day + "/main.log")})
		add(false, w.who, "lists the whole bucket", Request{Principal: sa(w.id), Permission: "storage.objects.list", Resource: Bucket(p, bucket), ListPrefix: ""})
		add(false, w.who, "lists every account's folder", Request{Principal: sa(w.id), Permission: "storage.objects.list", Resource: Bucket(p, bucket), ListPrefix: "argo/"})
		add(false, w.who, "reads logs archived before the per-account folders", Request{Principal: sa(w.id), Permission: "storage.objects.get", Resource: object("argo/" + day + "/main.log")})
		add(false, w.who, "changes the bucket's IAM", Request{Principal: sa(w.id), Permission: "storage.buckets.setIamPolicy", Resource: Bucket(p, bucket)})
		add(false, w.who, "connects to the database", Request{Principal: sa(w.id), Permission: "cloudsql.instances.connect", Resource: instance})
	}
	// Each identity holds its declared grants; nobody else does.
	for _, wi := range cfg.Identities {
		var declared []grant
		for _, role := range wi.ProjectRoles {
			declared = append(declared, grant{role: role, on: Project(p)})
		}
		for _, d := range wi.Datasets {
			declared = append(declared, grant{role: d.Role, on: Dataset(p, d.Dataset)})
		}
		for _, b := range wi.Buckets {
			declared = append(declared, grant{role: b.Role, on: Bucket("", b.Bucket)})
		}
		for _, s := range wi.Secrets {
			declared = append(declared, grant{role: s.Role, on: Secret(p, s.Secret)})
		}
		for _, g := range declared {
			for _, w := range workflows {
				held := grant{member: sa(w.id), role: g.role, on: g.on}
				rows = append(rows, row{who: w.who, what: fmt.Sprintf("holds %s's grant %s on %s", wi.Name, g.role, g.on.Name), declared: &held, allowed: w.ksa == wi.Name})
			}
		}
	}
	// The nodes send their logs and metrics, and reach nothing of Argo's.
	add(true, "the nodes", "write their logs", Request{Principal: nodes, Permission: "logging.logEntries.create", Resource: Project(p)})
	add(true, "the nodes", "write their metrics", Request{Principal: nodes, Permission: "monitoring.timeSeries.create", Resource: Project(p)})
	add(true, "the nodes", "describe their metrics", Request{Principal: nodes, Permission: "monitoring.metricDescriptors.create", Resource: Project(p)})
	add(false, "the nodes", "read a step's log", Request{Principal: nodes, Permission: "storage.objects.get", Resource: object("argo/argo-workflow/" + day + "/main.log")})
	add(false, "the nodes", "connect to the database", Request{Principal: nodes, Permission: "cloudsql.instances.connect", Resource: instance})
	for _, a := range all {
		add(false, "the nodes", "act as "+a.who, Request{Principal: nodes, Permission: "iam.serviceAccounts.getAccessToken", Resource: ServiceAccount(p, email(a.id))})
	}

	policy, err := Registered(cfg)
	require.NoError(t, err)
	return rows, policy
}

// check evaluates one row against policy: the answer, the bindings that
// gave it, and an error when the policy cannot be evaluated.
func (r row) check(policy Policy) (bool, []Binding, error) {
	if r.declared != nil {
		ok, by := policy.Holds(r.declared.member, r.declared.role, r.declared.on)
		return ok, by, nil
	}
	return policy.Allows(*r.req)
}

// The permission matrix: for every principal the platform creates and every
// action its real code path performs, the IAM the program registers allows
// it; the actions listed as forbidden are refused; and every registered
// grant to a platform principal is what some allowed action needs (an
// extra grant fails as surely as a missing one).
func TestEveryPrincipalMayDoExactlyWhatItsCodePathNeeds(t *testing.T) {
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			rows, policy := matrix(t, stack)
			used := map[string]bool{}
			principals := map[string]bool{}
			for _, r := range rows {
				if r.req != nil {
					principals[r.req.Principal] = true
				} else {
					principals[r.declared.member] = true
				}
				ok, by, err := r.check(policy)
				if !assert.NoError(t, err, "%s", r) {
					continue
				}
				if r.allowed {
					assert.True(t, ok, "%s: refused; the platform needs it", r)
				} else {
					var why []string
					for _, b := range by {
						why = append(why, b.Source)
					}
					assert.False(t, ok, "%s: allowed by %v", r, why)
				}
				if r.allowed {
					for _, b := range by {
						used[b.Source] = true
					}
				}
			}
			for _, b := range policy.Bindings {
				if principals[b.Member] {
					assert.True(t, used[b.Source], "%s grants %s to %s, which no action of the matrix needs", b.Source, b.Role, b.Member)
				}
			}
			t.Logf("%s: %d actions checked, %d bindings", stack, len(rows), len(policy.Bindings))
		})
	}
}
