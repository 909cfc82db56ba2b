//go:build e2e

// Package e2e deploys each stack's Kubernetes side with the real Pulumi
// engine and Kubernetes provider onto a real API server (tests/localcluster)
// and checks the result from Go. Run with `make e2e`; the tools come from
// `make tools`.
//
// Real: the Pulumi engine and Kubernetes provider, kube-apiserver (RBAC,
// admission policies, token issuance), controller-manager (the token
// controller fills the executor's token Secret), scheduler, Argo's
// workflow-controller and argo server, PostgreSQL. Stand-ins, with what the
// real part refuses that each also refuses, and what it does not check:
//
//   - GCP outputs (tests/localdeploy): ConfigMaps carrying the names and
//     e-mails the GCP side would return. Refuses nothing; the GCP side itself
//     is checked under mocks (package tests, tests/iam).
//   - GKE's ingress and NEG controllers (localcluster.PlayGKE): hold the
//     finalizers GKE holds until its load balancer and NEGs are gone.
//     Do not check the BackendConfig, the certificate or IAP themselves.
//   - The kubelet (kwok, and realargo's Executor ending pods): refuses
//     nothing a kubelet refuses (images, resources, volumes are not set up).
//   - Argo's executor (realargo's Executor): uploads each step's log and
//     output artifacts to the key the real controller expanded, as the pod's
//     Google identity, and reports with the token Argo mounts into the wait
//     container; a refused upload fails the wait container as Argo's does.
//     Does not run the step, load input artifacts or save parameters.
//   - GKE's metadata server and GCS (iam.Cloud): refuse a pod whose
//     ServiceAccount may not act as its annotated Google account, and any
//     object create, overwrite, read or list the stack's registered IAM
//     does not allow (conditions evaluated by CEL). Do not check deny or
//     organization policies, retention, holds or lifecycle deletions.
//   - The Cloud SQL Auth Proxy (realargo): a loopback forwarder; IAM login
//     is trusted by user name, not by token.
//   - Google's sign-in (realargo.SignIn, mockoidc: a real OpenID Connect
//     provider): refuses an unknown OAuth client or its wrong secret and
//     signs its ID tokens, which argo-server verifies as it does Google's.
//     Does not ask for a password, check that an e-mail belongs to a Google
//     account, or play IAP in front of the server.
//   - The pod's in-cluster configuration (realargo: KUBECONFIG): the
//     cluster's address argo-server builds a signed-in person's clients
//     from; their token is the sign-in account's, as in a pod.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	authnv1 "k8s.io/api/authentication/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

var (
	cluster *localcluster.Cluster
	// gke plays GKE's ingress and NEG controllers (their finalizers).
	gke *localcluster.GKE
)

func TestMain(m *testing.M) {
	// Everything runs in a private network with only loopback: Argo's
	// binaries listen on fixed ports, as in their pods.
	if !localcluster.Isolated() {
		code, err := localcluster.RunIsolated()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(code)
	}
	os.Exit(func() int {
		if err := localcluster.BringUpLoopback(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "argo-platform-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		tools := localdeploy.Tools()
		start := time.Now()
		cluster, err = localcluster.Start(ctx, localcluster.Options{
			Bin: filepath.Join(tools, "bin"), Stages: filepath.Join(tools, "kwok-stages"), Dir: filepath.Join(dir, "cluster"),
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "control plane:", err)
			return 1
		}
		defer cluster.Stop()
		if err := cluster.InstallGKEStandIns(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		gkeCtx, stopGKE := context.WithCancel(ctx)
		defer stopGKE()
		if gke, err = cluster.PlayGKE(gkeCtx, localdeploy.StandInNamespace); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("e2e: control plane ready in %s\n", time.Since(start).Round(time.Millisecond))
		return m.Run()
	}())
}

// timed runs fn and reports how long it took, as a figure for the closing
// report (never asserted).
func timed(t *testing.T, what string, fn func()) {
	start := time.Now()
	fn()
	t.Logf("FIGURE %s: %s", what, time.Since(start).Round(time.Millisecond))
}

func newStack(t *testing.T, ctx context.Context, name string, cfg *stacks.Loaded) auto.Stack {
	t.Helper()
	s, err := localdeploy.Stack(ctx, name, t.TempDir(), localdeploy.Program(cfg, cluster.KubeconfigText))
	require.NoError(t, err)
	return s
}

func TestStacks(t *testing.T) {
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := stackSettings(stack, nil)
			require.NoError(t, err)
			cleanCluster(t, ctx, cfg)
			s := newStack(t, ctx, stack, cfg)

			timed(t, "up "+stack, func() {
				_, err = s.Up(ctx)
			})
			require.NoError(t, err)

			t.Run("deployments available", func(t *testing.T) { checkAvailable(t, ctx, cfg) })
			t.Run("crds established", func(t *testing.T) { checkCRDs(t, ctx) })
			t.Run("service accounts", func(t *testing.T) { checkServiceAccounts(t, ctx, cfg) })
			t.Run("configmap", func(t *testing.T) { checkConfigMap(t, ctx, cfg, cfg.Argo.Parallelism) })
			t.Run("rbac", func(t *testing.T) { checkRBAC(t, ctx, cfg) })
			t.Run("admission policy", func(t *testing.T) { checkAdmission(t, ctx, cfg) })

			// The real controller and server, started from the Deployments.
			live := startRealArgo(t, ctx, cfg)
			t.Run("real argo", func(t *testing.T) { live.check(t, ctx) })
			t.Run("who may do what: each person signed in acts as their own rights", func(t *testing.T) { live.checkPeople(t, ctx) })
			if stack == stacks.Staging {
				// Staging's archive is a few thousand workflows at most:
				// small enough for every CI run (production's is make
				// bench-archive's).
				t.Run("argo-server answers an unbounded list of the largest archive the settings allow within its memory", func(t *testing.T) { live.checkArchiveAtCapacity(t, ctx) })
			}
			if stack == stacks.Production {
				// Production's recovery, rehearsed once (each restart costs
				// the CI budget): docs/operations.md names this test.
				t.Run("the archive is restored from a backup taken while a workflow ran", func(t *testing.T) { live.checkRestore(t, ctx) })
			}

			t.Run("second preview changes nothing", func(t *testing.T) {
				var res auto.PreviewResult
				timed(t, "no-op preview "+stack, func() {
					res, err = s.Preview(ctx)
				})
				require.NoError(t, err)
				for op, n := range res.ChangeSummary {
					assert.Equal(t, apitype.OpSame, op, "%d resource(s) would %s", n, op)
				}
			})

			if stack != stacks.Production {
				// Production is never previewed on a pull request.
				t.Run("a pull request's preview needs no right in the cluster", func(t *testing.T) { checkPullRequestPreview(t, ctx, s, stack, cfg) })
			}
			t.Run("main's previewer finds drift and changes nothing", func(t *testing.T) { checkMainPreview(t, ctx, s, stack, cfg) })

			t.Run("the executor's token is replaced by deleting its account and Secret and `pulumi up --refresh`", func(t *testing.T) {
				// docs/operations.md, "The executor's token".
				secrets := cluster.Client.CoreV1().Secrets(cfg.Argo.WorkflowNamespace)
				token := func() string {
					sec, err := secrets.Get(ctx, argo.ExecutorTokenSecret, metav1.GetOptions{})
					if err != nil {
						return ""
					}
					return string(sec.Data["token"])
				}
				old := token()
				require.NotEmpty(t, old, "Kubernetes filled the executor's token Secret")
				// A legacy token names its account's uid and nothing that
				// changes: a new Secret for the same account would carry the
				// same token. A new account has a new uid.
				require.NoError(t, cluster.Client.CoreV1().ServiceAccounts(cfg.Argo.WorkflowNamespace).Delete(ctx, argo.ExecutorKSA, metav1.DeleteOptions{}))
				require.NoError(t, ignoreNotFound(secrets.Delete(ctx, argo.ExecutorTokenSecret, metav1.DeleteOptions{})))
				_, err := s.Up(ctx, optup.Refresh())
				require.NoError(t, err)
				require.Eventually(t, func() bool { tok := token(); return tok != "" && tok != old }, time.Minute, 250*time.Millisecond, "a new token")
				// The API server remembers a token it accepted for 10 s
				// (kube-apiserver's token success cache), so the old token
				// may work that long after its account is gone.
				rotated := time.Now()
				oldWorks := func() (bool, error) {
					review, err := cluster.Client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: old}}, metav1.CreateOptions{})
					if err != nil {
						return false, err
					}
					return review.Status.Authenticated, nil
				}
				require.Eventually(t, func() bool { works, err := oldWorks(); return err == nil && !works }, time.Minute, 500*time.Millisecond, "the old token stops authenticating")
				t.Logf("FIGURE old executor token refused %s after the new one was there", time.Since(rotated).Round(100*time.Millisecond))
				// The cache is for successes only: it stays refused.
				time.Sleep(time.Second)
				works, err := oldWorks()
				require.NoError(t, err)
				assert.False(t, works, "the old token stays refused")
				name := live.submit(t, oneStep("after-rotation-", "echo again", nil))
				wf := live.finished(t, name)
				assert.Equal(t, "Succeeded", wf.Status.Phase, "steps report with the new token: %s", wf.Status.Message)
				assert.Empty(t, live.Executor.Errors())
			})

			// The same in every stack: rehearsed once, on staging (the CI
			// budget).
			if stack == stacks.Staging {
				t.Run("the admin password is rotated by a config change and a deploy", func(t *testing.T) {
					// docs/operations.md, "Rotate secrets": the stack's secret
					// changes and `pulumi up` runs. Cloud SQL's side (the built-in
					// user's new password, set by the gcp:sql/user:User update) is
					// played on the local PostgreSQL; the cluster's side is the
					// real deploy.
					rotate := func(t *testing.T, from, to *stacks.Loaded) {
						n := stacks.NamesFor(to.Settings)
						require.NoError(t, live.PG.SetPassword(n.AdminUser, to.DatabaseAdminPassword))
						s = newStackSameState(t, ctx, s, to)
						ops := steps(t, func(evs chan<- events.EngineEvent) error {
							_, err := s.Up(ctx, optup.EventStreams(evs))
							return err
						})
						// The provider updates Secrets in place (enableSecretMutable).
						assert.Equal(t, map[string][]apitype.OpType{
							"kubernetes:core/v1:Secret::argo-secret-argo-db-admin": {apitype.OpUpdate},
						}, ops, "only the admin Secret is updated, in place; no Job, Deployment or other object moves")
						sec, err := cluster.Client.CoreV1().Secrets(to.Argo.Namespace).Get(ctx, "argo-db-admin", metav1.GetOptions{})
						require.NoError(t, err)
						assert.Equal(t, to.DatabaseAdminPassword, string(sec.Data["password"]), "the Secret holds the new password")
						// The grant Job's script, run again as a re-created Job
						// would (an upgrade, a namespace move), logs in with it.
						out, err := live.RunJob(ctx, argoOptions(t), to.Argo.Namespace, "argo-db-bootstrap")
						require.NoError(t, err, out)
						assert.Contains(t, out, "argo database schema grants in place")
						_, err = live.PG.SQL(n.AdminUser, from.DatabaseAdminPassword, n.Database, "SELECT 1;")
						assert.Error(t, err, "the old password is refused")
					}
					rotated := *cfg
					rotated.DatabaseAdminPassword = cfg.DatabaseAdminPassword + "-rotated"
					rotate(t, cfg, &rotated)
					// And back, so the subtests after this one deploy what they
					// expect (a second rotation).
					rotate(t, &rotated, cfg)
				})
			}

			parallelism, namespaceParallelism := cfg.Argo.Parallelism+5, cfg.Argo.NamespaceParallelism+5
			moreParallel := func(a map[string]any) {
				a["parallelism"] = parallelism
				a["namespaceParallelism"] = namespaceParallelism
			}
			t.Run("changed setting updates only its objects", func(t *testing.T) {
				changed, err := stackSettings(stack, moreParallel)
				require.NoError(t, err)
				s2 := newStackSameState(t, ctx, s, changed)
				loads := live.Reloads()
				ops := steps(t, func(evs chan<- events.EngineEvent) error {
					_, err := s2.Up(ctx, optup.EventStreams(evs))
					return err
				})
				update := []apitype.OpType{apitype.OpUpdate}
				assert.Equal(t, map[string][]apitype.OpType{
					"kubernetes:core/v1:ConfigMap::argo-configmap-workflow-controller-configmap": update,
					"kubernetes:core/v1:ConfigMap::argo-configmap-argo-server-configmap":         update,
				}, ops, "an in-place update of the two ConfigMaps, nothing replaced")
				checkConfigMap(t, ctx, changed, parallelism)
				assert.Eventually(t, func() bool { return live.Reloads() > loads }, time.Minute, 250*time.Millisecond,
					"the running controller reloads its ConfigMap after `pulumi up`")
				s = s2
			})

			t.Run("moving the workflow namespace keeps the archive, the database and the bucket", func(t *testing.T) {
				moved, err := stackSettings(stack, func(a map[string]any) {
					moreParallel(a)
					a["workflowNamespace"] = movedNamespace
				})
				require.NoError(t, err)
				// A template a team made by hand where workflows run.
				handMade := handMadeTemplate(t, ctx, cfg.Argo.WorkflowNamespace)
				s = newStackSameState(t, ctx, s, moved)
				ops := previewOps(t, ctx, s)
				for urn, op := range ops {
					t.Logf("PREVIEW %s %s", op, urn)
				}
				for urn, op := range ops {
					if strings.Contains(urn, "stand-in") {
						assert.Failf(t, "a GCP stand-in changes", "%s would %s: the database, the bucket and the accounts stay as they are", urn, op)
					}
				}
				for _, d := range []string{"argo-deployment-workflow-controller", "argo-deployment-argo-server"} {
					assert.NotContains(t, ops, "kubernetes:apps/v1:Deployment::"+d, "%s watches every namespace: a move does not restart it", d)
				}
				assert.Contains(t, ops["kubernetes:batch/v1:Job::argo-job-argo-db-grant-server"], apitype.OpCreateReplacement, "the grant Job runs again, moving the archive's rows")
				assert.Contains(t, ops["kubernetes:core/v1:Namespace::argo-namespace-workflows"], apitype.OpCreateReplacement, "the workflow namespace is replaced")
				assert.Contains(t, ops["kubernetes:core/v1:ServiceAccount::argo-sa-argo-workflow"], apitype.OpCreateReplacement, "the workflow account moves")
				for _, wi := range cfg.Identities {
					assert.Contains(t, ops["kubernetes:core/v1:Namespace::argo-namespace-workflows-"+wi.Name], apitype.OpCreateReplacement, "%s's namespace moves with it", wi.Name)
					assert.Contains(t, ops["kubernetes:core/v1:ServiceAccount::argo-sa-"+wi.Name], apitype.OpCreateReplacement, "%s's account moves", wi.Name)
				}
				assert.NotContains(t, ops, "kubernetes:core/v1:Namespace::argo-namespace", "Argo's home stays")

				_, err = s.Up(ctx)
				require.NoError(t, err)
				old := cfg.Argo.WorkflowNamespace
				cfg = moved
				_, err = cluster.Client.CoreV1().Namespaces().Get(ctx, moved.Argo.WorkflowNamespace, metav1.GetOptions{})
				require.NoError(t, err)
				if stack == stacks.Production {
					// Production keeps the old namespace, and what was made
					// there by hand, for the team to move
					// (docs/operations.md); then they delete it, as here.
					_, err := handMade.Get(ctx, "hand-made", metav1.GetOptions{})
					assert.NoError(t, err, "production's hand-made WorkflowTemplate is still in %s after the move", old)
					require.NoError(t, cluster.Client.CoreV1().Namespaces().Delete(ctx, old, metav1.DeleteOptions{}))
				}
				require.Eventually(t, func() bool {
					_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, old, metav1.GetOptions{})
					return apierrors.IsNotFound(err)
				}, 2*time.Minute, 250*time.Millisecond, "the old workflow namespace is deleted")
				for _, wi := range cfg.Identities {
					_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, moved.Argo.WorkflowNamespace+"-"+wi.Name, metav1.GetOptions{})
					require.NoError(t, err, "%s's namespace moved", wi.Name)
				}
				checkRBAC(t, ctx, moved)
				checkAdmission(t, ctx, moved)

				// A rollout of the new Deployments, on the same database.
				live = live.restart(t, ctx, moved)
				archive := archivedWorkflows(t, moved.Argo.WorkflowNamespace)
				require.NotEmpty(t, live.archived)
				for _, name := range live.archived {
					assert.Contains(t, archive, name, "%s, archived before the move, is listed in the new namespace", name)
				}
				hello := live.finished(t, live.submit(t, oneStep("after-move-", "echo hello", nil)))
				assert.Equal(t, "Succeeded", hello.Status.Phase, "workflows run in the new namespace")

				// The server deletes from the archive (its one write there).
				uid := archive[live.archived[0]]
				require.Equal(t, http.StatusOK, api(t, http.MethodDelete, "/api/v1/archived-workflows/"+uid, nil, nil))
				assert.NotContains(t, archivedWorkflows(t, moved.Argo.WorkflowNamespace), live.archived[0], "deleted from the archive")
				live.checkLogs(t)
			})

			if len(cfg.Identities) > 0 {
				t.Run("removing the workflow identities deletes their accounts and closes the allowlist", func(t *testing.T) {
					without, err := stackSettings(stack, func(a map[string]any) {
						moreParallel(a)
						a["workflowNamespace"] = movedNamespace
					})
					require.NoError(t, err)
					without.Identities = nil
					s = newStackSameState(t, ctx, s, without)
					ops := previewOps(t, ctx, s)
					for urn, op := range ops {
						t.Logf("PREVIEW %s %s", op, urn)
					}
					update := []apitype.OpType{apitype.OpUpdate}
					want := map[string][]apitype.OpType{
						// The allowlist shrinks in place (the workflow accounts are
						// bound to no Role), and its binding's namespaces; the
						// stand-in plays the accounts' deletion.
						"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy::argo-admission-policy":                update,
						"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding::argo-admission-policy-binding": update,
						"kubernetes:core/v1:ConfigMap::stand-in-service-accounts":                                                    update,
						// Its runners no longer sign in for it.
						"kubernetes:core/v1:ServiceAccount::argo-sa-argo-sso-viewer": update,
						// The server takes the token of the editors' account
						// at home by name, which follows their namespaces.
						"kubernetes:rbac.authorization.k8s.io/v1:Role::argo-role-argo-server": update,
					}
					// Its namespace and everything the platform put there go.
					for _, wi := range cfg.Identities {
						for _, name := range []string{
							"core/v1:Namespace::argo-namespace-workflows-" + wi.Name,
							"core/v1:ServiceAccount::argo-sa-" + wi.Name,
							"core/v1:ServiceAccount::argo-sa-argo-executor-" + wi.Name,
							"core/v1:Secret::argo-secret-argo-executor.service-account-token-" + wi.Name,
							"core/v1:ServiceAccount::argo-sa-argo-sso-runner-" + wi.Name,
							"core/v1:Secret::argo-secret-argo-sso-runner.service-account-token-" + wi.Name,
							"core/v1:ServiceAccount::argo-sa-argo-sso-editor-" + wi.Name,
							"core/v1:Secret::argo-secret-argo-sso-editor.service-account-token-" + wi.Name,
							"networking.k8s.io/v1:NetworkPolicy::argo-netpol-default-deny-ingress-workloads-" + wi.Name,
							"networking.k8s.io/v1:NetworkPolicy::argo-netpol-egress-workloads-" + wi.Name,
						} {
							want["kubernetes:"+name] = []apitype.OpType{apitype.OpDelete}
						}
						for _, role := range []string{"argo-controller-workloads", "argo-server-workloads", "argo-executor-workloads", "argo-sso-viewer", "argo-sso-runner", "argo-sso-editor"} {
							want["kubernetes:rbac.authorization.k8s.io/v1:Role::argo-role-"+role+"-"+wi.Name] = []apitype.OpType{apitype.OpDelete}
							want["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::argo-rolebinding-"+role+"-"+wi.Name] = []apitype.OpType{apitype.OpDelete}
						}
					}
					// The server grant Job's map of accounts to namespaces
					// loses the identity: the Job is replaced (and runs again).
					job := "kubernetes:batch/v1:Job::argo-job-argo-db-grant-server"
					assert.Contains(t, ops[job], apitype.OpCreateReplacement)
					delete(ops, job)
					// The editors' account at home is named after the
					// namespaces they run in: the old goes, a new one comes.
					homeEditor := regexp.MustCompile(`argo-sso-editor-[0-9a-f]{8}`)
					for urn, op := range ops {
						if homeEditor.MatchString(urn) {
							assert.Len(t, op, 1, urn)
							assert.Contains(t, []apitype.OpType{apitype.OpCreate, apitype.OpDelete}, op[0], urn)
							delete(ops, urn)
						}
					}
					assert.Equal(t, want, ops, "the identities' objects go, the allowlist shrinks, nothing else changes")
					_, err = s.Up(ctx)
					require.NoError(t, err)
					for _, wi := range cfg.Identities {
						_, err := cluster.Client.CoreV1().ServiceAccounts(movedNamespace).Get(ctx, wi.Name, metav1.GetOptions{})
						assert.True(t, apierrors.IsNotFound(err), "%s is gone", wi.Name)
					}
					cfg = without
					checkAdmission(t, ctx, without)
				})
			}

			// Every connection of every lifetime: the restarts, the move,
			// the people's requests, the restore.
			t.Run("Argo's pods connected only where their egress policies allow, through the whole run", func(t *testing.T) { live.checkEgress(t, ctx) })
			live.Stop()
			t.Run("destroy waits for the load balancer and NEGs, skips what goes with the cluster", func(t *testing.T) {
				since := time.Now()
				_, err := s.Destroy(ctx)
				require.NoError(t, err)
				checkDestroyed(t, ctx, cfg, since)
			})
		})
	}
}

// movedNamespace is where TestStacks moves the workflow namespace to.
const movedNamespace = "workflows-moved"

// steps runs op, which reports on evs, and returns every step but "same",
// by "<type>::<name>" (a replacement has several steps).
func steps(t *testing.T, op func(evs chan<- events.EngineEvent) error) map[string][]apitype.OpType {
	t.Helper()
	ops := map[string][]apitype.OpType{}
	evs := make(chan events.EngineEvent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range evs {
			if ev.ResourcePreEvent != nil {
				md := ev.ResourcePreEvent.Metadata
				if md.Op != apitype.OpSame && md.Type != "pulumi:pulumi:Stack" {
					key := md.Type + "::" + md.URN[strings.LastIndex(md.URN, "::")+2:]
					ops[key] = append(ops[key], md.Op)
				}
			}
		}
	}()
	err := op(evs)
	<-done
	require.NoError(t, err)
	return ops
}

// previewOps previews s: steps of `pulumi preview`.
func previewOps(t *testing.T, ctx context.Context, s auto.Stack) map[string][]apitype.OpType {
	t.Helper()
	return steps(t, func(evs chan<- events.EngineEvent) error {
		_, err := s.Preview(ctx, optpreview.EventStreams(evs))
		return err
	})
}

// allowedSecret is the Secret TestStacks lets workflows use, so the
// admission policy is checked with an allowlist that is not empty.
const allowedSecret = "e2e-allowed"

// stackSettings are the stack file's settings with allowedSecret in
// argo.workflowSecrets, then change applied to the argo block.
func stackSettings(stack string, change func(argo map[string]any)) (*stacks.Loaded, error) {
	return localdeploy.Settings(stack, func(m map[string]any) {
		// The people of TestStacks' "who may do what" (people_test.go)
		// beside the stack file's data-lead.
		acc := tests.Section(m, "access")
		acc["runners"] = append(acc["runners"].([]any), "user:"+runnerEmail)
		if ids, ok := m["identities"].([]any); ok {
			for _, id := range ids {
				id := id.(map[string]any)
				id["runners"] = append(id["runners"].([]any), "user:"+loaderEmail)
			}
		}
		a := tests.Section(m, "argo")
		a["workflowSecrets"] = []any{allowedSecret}
		if stack == stacks.Staging {
			// Staging's archive at 12,000 workflows: argo-server's limit
			// comes from the sizing formula (448 MiB), not its floor, so
			// the unbounded lists of checkArchiveAtCapacity test it.
			a["archivedRunsPerDay"] = 400
		}
		if change != nil {
			change(a)
		}
	})
}

// newStackSameState reopens stack s (same state) with another program.
func newStackSameState(t *testing.T, ctx context.Context, s auto.Stack, cfg *stacks.Loaded) auto.Stack {
	t.Helper()
	ws := s.Workspace().(*auto.LocalWorkspace)
	ws.SetProgram(localdeploy.Program(cfg, cluster.KubeconfigText))
	return s
}

// killPoint is a moment of a first `up`, as seen in the cluster.
type killPoint struct {
	name    string
	reached func(ctx context.Context, ns string) bool
}

func exists(_ any, err error) bool { return err == nil }

// killPoints spread over a first `up`: before the cluster's provider has
// created anything, once Argo's namespace exists, once the grant Job runs,
// and while Pulumi waits for the Deployments.
var killPoints = []killPoint{
	{"stand-ins created", func(ctx context.Context, _ string) bool {
		return exists(cluster.Client.CoreV1().ConfigMaps(localdeploy.StandInNamespace).Get(ctx, localdeploy.StandInCluster, metav1.GetOptions{}))
	}},
	{"namespace created", func(ctx context.Context, ns string) bool {
		return exists(cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}))
	}},
	{"grant Job created", func(ctx context.Context, ns string) bool {
		return exists(cluster.Client.BatchV1().Jobs(ns).Get(ctx, "argo-db-bootstrap", metav1.GetOptions{}))
	}},
	{"Deployments created", func(ctx context.Context, ns string) bool {
		return exists(cluster.Client.AppsV1().Deployments(ns).Get(ctx, "workflow-controller", metav1.GetOptions{}))
	}},
}

// TestKilledUpConverges kills `pulumi up` (SIGKILL, no chance to save state)
// at each kill point, then runs the recovery the README documents and checks
// that the next `up` converges with nothing orphaned and that destroy still
// removes everything. The state is on the file backend as Stack opens it
// (every write atomic); a gs:// backend writes each object atomically too.
func TestKilledUpConverges(t *testing.T) {
	for _, point := range killPoints {
		t.Run(point.name, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := localdeploy.Settings(stacks.Staging, nil)
			require.NoError(t, err)
			cleanCluster(t, ctx, cfg)
			s := newStack(t, ctx, "killed", cfg)
			killUp(t, ctx, s, cfg.Argo.Namespace, point)
			recoverAndConverge(t, ctx, s, cfg)
		})
	}
}

// The documented extra step for a file backend opened without
// metadata=skip: its metadata sidecar is rewritten in place, so a CLI killed
// at that moment leaves it empty (README, "A pulumi up that was killed").
const removeEmptySidecars = `find "$STATE/.pulumi" -name '*.attrs' -size 0 -delete`

// TestKilledMidSidecarWrite reproduces the failure a file backend with
// metadata sidecars (plain file://) suffers when the kill lands while
// the CLI rewrites the sidecar of the stack's state, the root cause of
// "failed to load checkpoint: EOF": the state is whole, its sidecar empty.
// The documented extra step removes the empty sidecar, and the usual
// recovery then converges.
func TestKilledMidSidecarWrite(t *testing.T) {
	ctx := context.Background()
	cfg, err := localdeploy.Settings(stacks.Staging, nil)
	require.NoError(t, err)
	cleanCluster(t, ctx, cfg)
	state := t.TempDir()
	s, err := localdeploy.StackAt(ctx, "sidecar", state, "file://"+state, localdeploy.Program(cfg, cluster.KubeconfigText))
	require.NoError(t, err)
	killUp(t, ctx, s, cfg.Argo.Namespace, killPoints[1])

	// Where fileblob's setAttrs is when the kill lands: the sidecar created
	// (truncated), its JSON not yet written.
	sidecars, err := filepath.Glob(filepath.Join(state, ".pulumi", "stacks", tests.Project, "sidecar.json*.attrs"))
	require.NoError(t, err)
	require.NotEmpty(t, sidecars, "the plain file backend writes metadata sidecars")
	require.NoError(t, os.Truncate(filepath.Join(state, ".pulumi", "stacks", tests.Project, "sidecar.json.attrs"), 0))
	err = s.Cancel(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to load checkpoint: EOF", "the failure CI saw")

	readme, err := os.ReadFile(filepath.Join(tests.RepoRoot(), "README.md"))
	require.NoError(t, err)
	require.Contains(t, string(readme), removeEmptySidecars, "the README documents this step")
	cmd := exec.Command("bash", "-c", removeEmptySidecars)
	cmd.Env = append(os.Environ(), "STATE="+state)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	recoverAndConverge(t, ctx, s, cfg)
}

// TestUpAdoptsWhatNoStateRecorded runs a first `up` with an empty state
// against a cluster where every object already exists, as after a kill
// between the API server's create and the state's write, or a lost state:
// every object must be adopted (server-side apply by another field
// manager), none may conflict, and the result must converge.
func TestUpAdoptsWhatNoStateRecorded(t *testing.T) {
	ctx := context.Background()
	cfg, err := localdeploy.Settings(stacks.Staging, nil)
	require.NoError(t, err)
	cleanCluster(t, ctx, cfg)
	first := newStack(t, ctx, "first", cfg)
	_, err = first.Up(ctx)
	require.NoError(t, err)
	second := newStack(t, ctx, "second", cfg)
	recoverAndConverge(t, ctx, second, cfg)
}

// cleanCluster removes what an earlier failed test may have left (Argo's
// and the stand-ins' namespaces, the cluster-scoped objects), so one
// failure does not cascade into the next test.
func cleanCluster(t *testing.T, ctx context.Context, cfg *stacks.Loaded) {
	t.Helper()
	c := cluster.Client
	ns := cfg.Argo.Namespace
	namespaces := append([]string{ns, localdeploy.StandInNamespace}, realargo.WorkflowNamespaces(cfg)...)
	for _, name := range namespaces {
		require.NoError(t, ignoreNotFound(c.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})))
	}
	client, err := apiext.NewForConfig(cluster.Config)
	require.NoError(t, err)
	// What is still there, and why (a namespace's conditions say which
	// content or finalizer holds it), for the failure message.
	var left []string
	namespacesGone := func() bool {
		left = nil
		for _, name := range namespaces {
			n, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			what := fmt.Sprintf("namespace %s: %v", name, err)
			if err == nil {
				what = fmt.Sprintf("namespace %s %s", name, n.Status.Phase)
				for _, cond := range n.Status.Conditions {
					if cond.Status == corev1.ConditionTrue {
						what += fmt.Sprintf("; %s: %s", cond.Type, cond.Message)
					}
				}
				if pods, err := c.CoreV1().Pods(name).List(ctx, metav1.ListOptions{}); err == nil {
					for _, p := range pods.Items {
						what += fmt.Sprintf("; pod %s %s on %q, deleting since %v, finalizers %v", p.Name, p.Status.Phase, p.Spec.NodeName, p.DeletionTimestamp, p.Finalizers)
					}
				}
			}
			left = append(left, what)
		}
		return len(left) == 0
	}
	// The namespaces go first, their custom resources with them, while the
	// CRDs still exist: removing CRDs under the namespace controller makes
	// its discovery fail, and it retries with a growing backoff.
	waitGone(t, namespacesGone, &left)
	policy := argo.AdmissionPolicyName(cfg.Argo.WorkflowNamespace)
	require.NoError(t, ignoreNotFound(c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, policy, metav1.DeleteOptions{})))
	require.NoError(t, ignoreNotFound(c.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, policy, metav1.DeleteOptions{})))
	for _, plural := range argoCRDs {
		require.NoError(t, ignoreNotFound(client.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, plural+".argoproj.io", metav1.DeleteOptions{})))
	}
	require.NoError(t, ignoreNotFound(c.SchedulingV1().PriorityClasses().Delete(ctx, "workflow-controller", metav1.DeleteOptions{})))
	for _, name := range clusterReaders(ns) {
		require.NoError(t, ignoreNotFound(c.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})))
		require.NoError(t, ignoreNotFound(c.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})))
	}
	crdsGone := func() bool {
		left = nil
		for _, plural := range argoCRDs {
			crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, plural+".argoproj.io", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				what := fmt.Sprintf("CRD %s: %v", plural, err)
				if err == nil {
					what = fmt.Sprintf("CRD %s finalizers %v conditions %v", plural, crd.Finalizers, crd.Status.Conditions)
				}
				left = append(left, what)
			}
		}
		return len(left) == 0
	}
	waitGone(t, crdsGone, &left)
}

// waitGone polls gone for up to two minutes and fails with what it left.
func waitGone(t *testing.T, gone func() bool, left *[]string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !gone() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Empty(t, *left, "leftovers of an earlier test are gone")
}

// killUp starts a first `up` and SIGKILLs the CLI once point is reached.
func killUp(t *testing.T, ctx context.Context, s auto.Stack, ns string, point killPoint) {
	t.Helper()
	require.False(t, point.reached(ctx, ns), "%q reached before the up started", point.name)
	upCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	upErr := make(chan error, 1)
	go func() { _, err := s.Up(upCtx); upErr <- err }()

	deadline := time.Now().Add(2 * time.Minute)
	for !point.reached(ctx, ns) {
		select {
		case err := <-upErr:
			require.Failf(t, "up finished before the kill point", "%s: %v", point.name, err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "up never reached %q", point.name)
		time.Sleep(10 * time.Millisecond)
	}
	killed := killPulumiChildren(t)
	require.NotZero(t, killed, "found no pulumi process to kill")
	cancel()
	assert.Error(t, <-upErr, "the killed up must fail")
	deps, err := cluster.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	t.Logf("killed at %q: %d Deployment(s) existed", point.name, len(deps.Items))
}

// recoverAndConverge runs the documented recovery (README, "A pulumi up
// that was killed"): a killed CLI leaves its lock, released by `pulumi
// cancel`, and records of creates it never confirmed, dropped by `refresh
// --clear-pending-creates`; the next `up` then adopts whatever those
// creates left in the cluster. Then it checks that nothing is orphaned, a
// preview is empty, and destroy removes everything.
func recoverAndConverge(t *testing.T, ctx context.Context, s auto.Stack, cfg *stacks.Loaded) {
	t.Helper()
	ns := cfg.Argo.Namespace
	s = newStackSameState(t, ctx, s, cfg)
	require.NoError(t, s.Cancel(ctx))
	var err error
	timed(t, "refresh after kill", func() {
		_, err = s.Refresh(ctx, optrefresh.ClearPendingCreates())
	})
	require.NoError(t, err)
	timed(t, "up after kill", func() {
		_, err = s.Up(ctx)
	})
	require.NoError(t, err, "the next up converges")
	checkAvailable(t, ctx, cfg)

	state, err := s.Export(ctx)
	require.NoError(t, err)
	var dep struct {
		Resources []struct {
			Type    string         `json:"type"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
		Pending []any `json:"pending_operations"`
	}
	require.NoError(t, json.Unmarshal(state.Deployment, &dep))
	assert.Len(t, dep.Pending, 0, "no pending operations left")
	inState := map[string]bool{}
	for _, r := range dep.Resources {
		if md, ok := r.Outputs["metadata"].(map[string]any); ok {
			inState[fmt.Sprintf("%s/%v/%v", r.Type, md["namespace"], md["name"])] = true
		}
	}
	for _, o := range ours(t, ctx, ns, cfg.Argo.WorkflowNamespace) {
		assert.True(t, inState[o], "%s is in the cluster but not in the state (orphaned)", o)
	}

	prev, err := s.Preview(ctx)
	require.NoError(t, err)
	for op, n := range prev.ChangeSummary {
		assert.Equal(t, apitype.OpSame, op, "%d resource(s) would %s after converging", n, op)
	}
	since := time.Now()
	timed(t, "destroy after kill", func() {
		_, err = s.Destroy(ctx, optdestroy.ContinueOnError(), optdestroy.ProgressStreams(progressLog(t, "destroy-after-kill")))
	})
	require.NoError(t, err)
	checkDestroyed(t, ctx, cfg, since)
}

// killPulumiChildren SIGKILLs every pulumi CLI this test process started,
// with all its descendants (the provider plugins it runs), as an OOM kill or
// a lost CI runner would.
func killPulumiChildren(t *testing.T) int {
	procs, err := realargo.Processes()
	require.NoError(t, err)
	var victims []int
	var descend func(parent int)
	descend = func(parent int) {
		for pid, p := range procs {
			if p.PPid == parent {
				victims = append(victims, pid)
				descend(pid)
			}
		}
	}
	clis := 0
	for pid, p := range procs {
		if p.PPid == os.Getpid() && p.Comm == "pulumi" {
			clis++
			victims = append(victims, pid)
			descend(pid)
		}
	}
	for _, pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGKILL) // it may have exited meanwhile
	}
	t.Logf("killed %d pulumi CLI(s) and %d descendant(s)", clis, len(victims)-clis)
	return clis
}

// progressLog is where a step's progress goes: a file named by E2E_LOGS
// (for reading after a slow run), or nowhere.
func progressLog(t *testing.T, name string) io.Writer {
	dir := os.Getenv("E2E_LOGS")
	if dir == "" {
		return io.Discard
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// ours lists the objects in namespaces that Pulumi manages, as
// "<type token>/<namespace>/<name>".
func ours(t *testing.T, ctx context.Context, namespaces ...string) []string {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=pulumi"}
	c := cluster.Client
	kinds := map[string]func(ns string) ([]metav1.Object, error){
		"kubernetes:core/v1:ConfigMap": func(ns string) ([]metav1.Object, error) {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
		"kubernetes:core/v1:Secret": func(ns string) ([]metav1.Object, error) {
			l, err := c.CoreV1().Secrets(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
		"kubernetes:core/v1:ServiceAccount": func(ns string) ([]metav1.Object, error) {
			l, err := c.CoreV1().ServiceAccounts(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
		"kubernetes:apps/v1:Deployment": func(ns string) ([]metav1.Object, error) {
			l, err := c.AppsV1().Deployments(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
		"kubernetes:rbac.authorization.k8s.io/v1:Role": func(ns string) ([]metav1.Object, error) {
			l, err := c.RbacV1().Roles(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
		"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": func(ns string) ([]metav1.Object, error) {
			l, err := c.RbacV1().RoleBindings(ns).List(ctx, sel)
			return objects(l.Items, err)
		},
	}
	var out []string
	for typ, list := range kinds {
		for _, ns := range append(namespaces, localdeploy.StandInNamespace) {
			objs, err := list(ns)
			require.NoError(t, err)
			for _, o := range objs {
				out = append(out, typ+"/"+ns+"/"+o.GetName())
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

// objects turns a typed list into its objects' metadata.
func objects[T any, P interface {
	*T
	metav1.Object
}](items []T, err error) ([]metav1.Object, error) {
	out := make([]metav1.Object, 0, len(items))
	for i := range items {
		out = append(out, P(&items[i]))
	}
	return out, err
}

func checkAvailable(t *testing.T, ctx context.Context, cfg *stacks.Loaded) {
	t.Helper()
	for _, name := range []string{"workflow-controller", "argo-server"} {
		d, err := cluster.Client.AppsV1().Deployments(cfg.Argo.Namespace).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		require.NotNil(t, d.Spec.Replicas)
		assert.Equal(t, *d.Spec.Replicas, d.Status.AvailableReplicas, "%s available", name)
		assert.Positive(t, d.Status.AvailableReplicas)
	}
	job, err := cluster.Client.BatchV1().Jobs(cfg.Argo.Namespace).Get(ctx, "argo-db-bootstrap", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), job.Status.Succeeded, "the grant Job completed before the Deployments")
}

var argoCRDs = []string{
	"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates",
	"workfloweventbindings", "workflowtasksets", "workflowtaskresults", "workflowartifactgctasks",
}

func checkCRDs(t *testing.T, ctx context.Context) {
	t.Helper()
	client, err := apiext.NewForConfig(cluster.Config)
	require.NoError(t, err)
	for _, plural := range argoCRDs {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, plural+".argoproj.io", metav1.GetOptions{})
		require.NoError(t, err)
		assert.True(t, localcluster.Established(crd), "%s Established", plural)
	}
}

func checkServiceAccounts(t *testing.T, ctx context.Context, cfg *stacks.Loaded) {
	t.Helper()
	n := stacks.NamesFor(cfg.Settings)
	for _, a := range []struct {
		stacks.Account
		ns string
	}{{n.Controller, cfg.Argo.Namespace}, {n.Server, cfg.Argo.Namespace}, {n.Workflow, cfg.Argo.WorkflowNamespace}} {
		sa, err := cluster.Client.CoreV1().ServiceAccounts(a.ns).Get(ctx, a.KSA, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, a.ID+"@"+cfg.Project+".iam.gserviceaccount.com", sa.Annotations["iam.gke.io/gcp-service-account"])
	}
	// Each identity in its own namespace, beside an executor account of
	// that namespace's own.
	for _, wi := range cfg.Identities {
		ns := cfg.Argo.WorkflowNamespace + "-" + wi.Name
		sa, err := cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, wi.Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, wi.Name+"-"+cfg.Environment+"@"+cfg.Project+".iam.gserviceaccount.com", sa.Annotations["iam.gke.io/gcp-service-account"])
		_, err = cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, argo.ExecutorKSA, metav1.GetOptions{})
		assert.NoError(t, err)
		_, err = cluster.Client.CoreV1().ServiceAccounts(cfg.Argo.WorkflowNamespace).Get(ctx, wi.Name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "%s is not in the workflow namespace: %v", wi.Name, err)
	}
}

func checkConfigMap(t *testing.T, ctx context.Context, cfg *stacks.Loaded, parallelism int) {
	t.Helper()
	cm, err := cluster.Client.CoreV1().ConfigMaps(cfg.Argo.Namespace).Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	require.NoError(t, err)
	// What the API server stores (the real controller reading it is the
	// realargo subtests'; Argo's own decoder reads it in tools/argo).
	assert.Equal(t, strconv.Itoa(parallelism), cm.Data["parallelism"])
	// Keys Argo has removed (today's controller refuses to start on any).
	for _, removed := range []string{"containerRuntimeExecutor", "containerRuntimeExecutors", "dockerSockPath",
		"kubeletPort", "kubeletInsecure", "executorImage", "executorResources"} {
		assert.NotContains(t, cm.Data, removed)
	}
	var artifacts struct {
		ArchiveLogs bool                    `yaml:"archiveLogs"`
		GCS         struct{ Bucket string } `yaml:"gcs"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["artifactRepository"]), &artifacts))
	assert.Equal(t, cfg.Project+"-argo-logs-"+cfg.Environment, artifacts.GCS.Bucket)
	assert.True(t, artifacts.ArchiveLogs)
	var persistence struct {
		PostgreSQL struct {
			UserNameSecret struct{ Name string } `yaml:"userNameSecret"`
		} `yaml:"postgresql"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["persistence"]), &persistence))
	secret, err := cluster.Client.CoreV1().Secrets(cfg.Argo.Namespace).Get(ctx, persistence.PostgreSQL.UserNameSecret.Name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "argo-ctrl-"+cfg.Environment+"@"+cfg.Project+".iam", string(secret.Data["username"]))
}

// access is one question to the API server's authorizer.
type access struct {
	verb, group, resource, subresource, name string
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.name != "" {
		r += " " + a.name
	}
	return a.verb + " " + r
}

// allowed asks the API server whether ServiceAccount account (ns/name) may
// do a in namespace ns.
func allowed(t *testing.T, ctx context.Context, account, ns string, a access) bool {
	t.Helper()
	accountNS, _, _ := strings.Cut(account, "/")
	sar := &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + strings.Replace(account, "/", ":", 1),
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + accountNS, "system:authenticated"},
		ResourceAttributes: &authv1.ResourceAttributes{
			Namespace: ns, Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Name: a.name,
		},
	}}
	res, err := cluster.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	require.NoError(t, err)
	return res.Status.Allowed
}

// checkRBAC asks the API server what each account may do in each
// namespace: the platform's accounts live at home and act on workflows in
// the workflow namespace; the workflow account only reports its results;
// nothing may run pods at home or read the admin's Secret.
func checkRBAC(t *testing.T, ctx context.Context, cfg *stacks.Loaded) {
	const wf = "argoproj.io"
	home, wfNS := cfg.Argo.Namespace, cfg.Argo.WorkflowNamespace
	n := stacks.NamesFor(cfg.Settings)
	controller, server, workflow := home+"/"+n.Controller.KSA, home+"/"+n.Server.KSA, wfNS+"/"+n.Workflow.KSA
	type rights struct{ allow, deny []access }
	cases := map[string]map[string]rights{
		controller: {
			wfNS: {
				allow: []access{
					{verb: "patch", resource: "pods"}, {verb: "update", resource: "pods"}, {verb: "create", resource: "pods"},
					{verb: "delete", resource: "pods"}, {verb: "create", resource: "pods", subresource: "exec"},
					{verb: "update", group: wf, resource: "workflows"}, {verb: "watch", group: wf, resource: "workflowtaskresults"},
					{verb: "deletecollection", group: wf, resource: "workflowtaskresults"},
					{verb: "watch", resource: "configmaps"}, {verb: "create", resource: "events"},
					{verb: "create", group: "policy", resource: "poddisruptionbudgets"},
					{verb: "create", resource: "configmaps"}, {verb: "update", resource: "configmaps"},
					{verb: "watch", resource: "namespaces"},
				},
				deny: []access{
					{verb: "delete", resource: "namespaces", name: wfNS}, {verb: "list", resource: "secrets"},
					{verb: "get", resource: "secrets", name: allowedSecret},
					{verb: "create", resource: "secrets"}, {verb: "create", group: "rbac.authorization.k8s.io", resource: "roles"},
					{verb: "create", resource: "serviceaccounts"},
				},
			},
			home: {
				allow: []access{
					{verb: "watch", resource: "configmaps"}, {verb: "update", group: "coordination.k8s.io", resource: "leases"},
					{verb: "get", resource: "secrets", name: "argo-postgres-workflow-controller"},
					// Memoization caches live here in Argo v4.
					{verb: "create", resource: "configmaps"}, {verb: "update", resource: "configmaps"},
				},
				deny: []access{
					{verb: "create", resource: "pods"}, {verb: "list", resource: "secrets"},
					{verb: "get", resource: "secrets", name: "argo-db-admin"}, {verb: "create", group: wf, resource: "workflows"},
					{verb: "delete", resource: "configmaps"}, {verb: "delete", resource: "namespaces", name: home},
				},
			},
		},
		// The server's own account reads, and takes the sign-in accounts'
		// tokens by name; whatever a person does, they do as the account
		// their sign-in picks (below).
		server: {
			wfNS: {
				allow: []access{
					{verb: "get", resource: "secrets", name: argo.RunnerKSA + ".service-account-token"},
					{verb: "get", resource: "secrets", name: argo.EditorKSA + ".service-account-token"},
					{verb: "list", group: wf, resource: "workflows"},
				},
				deny: []access{
					{verb: "create", group: wf, resource: "workflows"}, {verb: "delete", group: wf, resource: "workflows"},
					{verb: "create", group: wf, resource: "cronworkflows"}, {verb: "get", resource: "pods", subresource: "log"},
					{verb: "list", resource: "secrets"}, {verb: "get", resource: "secrets", name: allowedSecret},
					{verb: "get", resource: "secrets", name: argo.ExecutorTokenSecret},
					{verb: "create", resource: "secrets"}, {verb: "create", resource: "pods", subresource: "exec"},
					{verb: "create", resource: "pods"}, {verb: "patch", resource: "pods"},
					{verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings"},
				},
			},
			home: {
				allow: []access{
					{verb: "get", resource: "secrets", name: "argo-postgres-argo-server"}, {verb: "watch", resource: "configmaps"},
					{verb: "get", resource: "secrets", name: "sso"}, {verb: "get", resource: "secrets", name: "argo-sso-client"},
					{verb: "get", resource: "secrets", name: argo.ViewerKSA + ".service-account-token"},
					// It makes its session key's Secret at its first start.
					{verb: "create", resource: "secrets"},
				},
				deny: []access{
					{verb: "delete", resource: "namespaces", name: home}, {verb: "create", group: wf, resource: "workflows"},
					{verb: "get", resource: "secrets", name: "argo-db-admin"}, {verb: "list", resource: "secrets"},
					{verb: "get", resource: "secrets", name: "argo-postgres-workflow-controller"},
					{verb: "create", resource: "pods"}, {verb: "get", resource: "pods", subresource: "log"},
				},
			},
		},
		// The token the step's own code holds: no right at all, so no step
		// can write another's results.
		workflow: {
			wfNS: {
				deny: []access{
					{verb: "create", group: wf, resource: "workflowtaskresults"}, {verb: "patch", group: wf, resource: "workflowtaskresults"},
					{verb: "get", resource: "secrets", name: allowedSecret}, {verb: "list", resource: "secrets"},
					{verb: "get", resource: "secrets", name: argo.ExecutorTokenSecret},
					{verb: "patch", resource: "pods"}, {verb: "create", resource: "pods"},
					{verb: "create", group: wf, resource: "workflows"}, {verb: "get", resource: "configmaps"},
					{verb: "delete", resource: "namespaces", name: wfNS},
				},
			},
			home: {
				deny: []access{
					{verb: "get", resource: "secrets", name: "argo-db-admin"}, {verb: "get", resource: "configmaps"},
					{verb: "create", resource: "pods"}, {verb: "list", group: wf, resource: "workflows"},
				},
			},
		},
		// Argo's init and wait containers: report results, nothing else.
		wfNS + "/" + argo.ExecutorKSA: {
			wfNS: {
				allow: []access{
					{verb: "create", group: wf, resource: "workflowtaskresults"}, {verb: "patch", group: wf, resource: "workflowtaskresults"},
				},
				deny: []access{
					{verb: "get", resource: "secrets", name: argo.ExecutorTokenSecret}, {verb: "list", resource: "secrets"},
					{verb: "create", resource: "pods"}, {verb: "patch", resource: "pods"}, {verb: "create", group: wf, resource: "workflows"},
					{verb: "delete", group: wf, resource: "workflowtaskresults"}, {verb: "get", resource: "configmaps"},
				},
			},
		},
	}
	// Each identity's namespace: the controller and the server act there as
	// in the workflow namespace; the identity holds no right, like the
	// workflow account; its executor reports there and nowhere else, and
	// the workflow namespace's executor does not report there.
	wfExecutor := wfNS + "/" + argo.ExecutorKSA
	reports := []access{{verb: "create", group: wf, resource: "workflowtaskresults"}, {verb: "patch", group: wf, resource: "workflowtaskresults"}}
	for _, wi := range cfg.Identities {
		ns := wfNS + "-" + wi.Name
		cases[controller][ns] = cases[controller][wfNS]
		cases[server][ns] = cases[server][wfNS]
		cases[ns+"/"+wi.Name] = map[string]rights{ns: cases[workflow][wfNS], wfNS: {deny: cases[workflow][wfNS].deny}}
		cases[ns+"/"+argo.ExecutorKSA] = map[string]rights{ns: cases[wfExecutor][wfNS], wfNS: {deny: reports}}
		cases[wfExecutor][ns] = rights{deny: reports}
	}
	// Cluster-wide, the controller and the server only read (Argo watches
	// one namespace or all): nothing written outside the workflow
	// namespaces, no Secret read anywhere.
	for _, ns := range []string{"kube-system", "default"} {
		cases[controller][ns] = rights{
			allow: []access{{verb: "list", resource: "pods"}, {verb: "watch", group: wf, resource: "workflows"}, {verb: "list", resource: "configmaps"}},
			deny: []access{
				{verb: "create", resource: "pods"}, {verb: "delete", resource: "pods"}, {verb: "update", group: wf, resource: "workflows"},
				{verb: "list", resource: "secrets"}, {verb: "create", resource: "configmaps"}, {verb: "create", resource: "pods", subresource: "exec"},
			},
		}
		cases[server][ns] = rights{
			allow: []access{{verb: "list", group: wf, resource: "workflows"}},
			deny: []access{
				{verb: "create", group: wf, resource: "workflows"}, {verb: "delete", group: wf, resource: "workflows"},
				{verb: "list", resource: "pods"}, {verb: "get", resource: "pods", subresource: "log"}, {verb: "list", resource: "secrets"},
			},
		}
	}
	// The sign-in accounts a person's requests act as: the viewers' (home)
	// looks everywhere; each namespace's runners' run there, its editors'
	// also change schedules there; none of them anywhere else, and none
	// reads a Secret or runs a pod of its own.
	look := []access{{verb: "list", group: wf, resource: "workflows"}, {verb: "get", resource: "pods", subresource: "log"}, {verb: "list", group: wf, resource: "cronworkflows"}}
	run := []access{{verb: "create", group: wf, resource: "workflows"}, {verb: "update", group: wf, resource: "workflows"}, {verb: "delete", resource: "pods"}}
	edit := []access{{verb: "create", group: wf, resource: "cronworkflows"}, {verb: "delete", group: wf, resource: "workflows"}, {verb: "update", group: wf, resource: "workflowtemplates"}}
	never := []access{
		{verb: "get", resource: "secrets", name: allowedSecret}, {verb: "list", resource: "secrets"},
		{verb: "get", resource: "secrets", name: argo.ExecutorTokenSecret}, {verb: "create", resource: "pods"},
		{verb: "create", resource: "pods", subresource: "exec"}, {verb: "create", group: wf, resource: "workflowtaskresults"},
	}
	viewer := home + "/" + argo.ViewerKSA
	cases[viewer] = map[string]rights{home: {deny: append(slices.Clone(never), access{verb: "get", resource: "secrets", name: "argo-db-admin"})}}
	spaces := realargo.WorkflowNamespaces(cfg)
	for _, ns := range spaces {
		cases[viewer][ns] = rights{allow: look, deny: slices.Concat(never, run, edit)}
		cases[ns+"/"+argo.RunnerKSA] = map[string]rights{ns: {allow: slices.Concat(look, run), deny: slices.Concat(never, edit)}}
		cases[ns+"/"+argo.EditorKSA] = map[string]rights{ns: {allow: slices.Concat(look, run, edit), deny: never}}
		for _, other := range spaces {
			if other != ns {
				cases[ns+"/"+argo.RunnerKSA][other] = rights{deny: run}
				cases[ns+"/"+argo.EditorKSA][other] = rights{deny: slices.Concat(run, edit)}
			}
		}
	}
	for account, byNS := range cases {
		for ns, c := range byNS {
			for _, a := range c.allow {
				assert.True(t, allowed(t, ctx, account, ns, a), "%s must be allowed to %s in %s", account, a, ns)
			}
			for _, a := range c.deny {
				assert.False(t, allowed(t, ctx, account, ns, a), "%s must not be allowed to %s in %s", account, a, ns)
			}
		}
	}
}

// checkAdmission creates pods in the workflow namespace as a dry run (the
// API server runs every admission step, then stores nothing): the workflow
// account with an allowed Secret passes; any other account, and any other
// Secret by any of the ways a pod can name one, is refused by the policy.
// Admission holds for everyone, so these are asked as the cluster admin.
func checkAdmission(t *testing.T, ctx context.Context, cfg *stacks.Loaded) {
	wfNS := cfg.Argo.WorkflowNamespace
	n := stacks.NamesFor(cfg.Settings)
	policy := argo.AdmissionPolicyName(wfNS)
	// The platform's accounts, as if someone recreated them here: they
	// exist, so the policy alone stands in the way.
	for _, ksa := range []string{n.Controller.KSA, n.Server.KSA} {
		_, err := cluster.Client.CoreV1().ServiceAccounts(wfNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ksa}}, metav1.CreateOptions{})
		require.NoError(t, err)
		defer cluster.Client.CoreV1().ServiceAccounts(wfNS).Delete(ctx, ksa, metav1.DeleteOptions{})
	}
	pod := func(ksa string, edit func(*corev1.PodSpec)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"},
			Spec: corev1.PodSpec{
				ServiceAccountName: ksa,
				Containers:         []corev1.Container{{Name: "main", Image: "busybox:1.36"}},
			},
		}
		if edit != nil {
			edit(&p.Spec)
		}
		return p
	}
	secretVolume := func(name string) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}}
		}
	}
	const admin = "argo-db-admin"
	cases := []struct {
		what   string
		pod    *corev1.Pod
		refuse bool
	}{
		{"the workflow account", pod(n.Workflow.KSA, nil), false},
		{"the workflow account with an allowed Secret", pod(n.Workflow.KSA, secretVolume(allowedSecret)), false},
		{"an account the settings do not declare", pod(intruderKSA, nil), true},
		{"the controller's account", pod(n.Controller.KSA, nil), true},
		{"the server's account", pod(n.Server.KSA, nil), true},
		{"the namespace's default account", pod("", nil), true},
		{"the admin's Secret as a volume", pod(n.Workflow.KSA, secretVolume(admin)), true},
		{"the admin's Secret projected", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: admin}}}},
			}}}}
		}), true},
		{"the admin's Secret in an env var", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: "P", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: admin}, Key: "password",
			}}}}
		}), true},
		{"the admin's Secret as envFrom of an init container", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36", EnvFrom: []corev1.EnvFromSource{{
				SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: admin}},
			}}}}
		}), true},
		{"a CSI driver given the admin's Secret", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
				Driver: "secrets-store.csi.k8s.io", NodePublishSecretRef: &corev1.LocalObjectReference{Name: admin},
			}}}}
		}), true},
	}
	for _, wi := range cfg.Identities {
		// It exists only in its own namespace; one made here by hand would
		// be refused all the same.
		cases = append(cases, struct {
			what   string
			pod    *corev1.Pod
			refuse bool
		}{"the workflow identity " + wi.Name + " outside its namespace", pod(wi.Name, nil), true})
		_, err := cluster.Client.CoreV1().ServiceAccounts(wfNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: wi.Name}}, metav1.CreateOptions{})
		require.NoError(t, err)
		defer cluster.Client.CoreV1().ServiceAccounts(wfNS).Delete(ctx, wi.Name, metav1.DeleteOptions{})
	}
	// The executor's token: only in Argo's own init and wait containers, as
	// Argo's controller writes them, reporting for their own pod.
	image := "quay.io/argoproj/argoexec:" + cfg.Argo.Version
	argoPod := func(edit func(*corev1.Pod)) *corev1.Pod {
		exec := func(name string) corev1.Container {
			return corev1.Container{
				Name: name, Image: image,
				Command: []string{"argoexec", name, "--loglevel", "info", "--log-format", "json", "--gloglevel", "0"},
				Env: []corev1.EnvVar{
					{Name: "ARGO_NODE_ID", Value: "nightly-x7k2p-1234"},
					{Name: "ARGO_WORKFLOW_NAME", Value: "nightly-x7k2p"},
					{Name: "ARGO_WORKFLOW_UID", Value: "0d7c3c9e-0000-4000-8000-000000000001"},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "exec-sa-token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
			}
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: "nightly-x7k2p-load-1234",
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Name: "nightly-x7k2p", UID: "0d7c3c9e-0000-4000-8000-000000000001",
				}},
			},
			Spec: corev1.PodSpec{
				ServiceAccountName: n.Workflow.KSA,
				InitContainers:     []corev1.Container{exec("init")},
				Containers:         []corev1.Container{{Name: "main", Image: "busybox:1.36"}, exec("wait")},
				Volumes: []corev1.Volume{{Name: "exec-sa-token", VolumeSource: corev1.VolumeSource{
					Secret: &corev1.SecretVolumeSource{SecretName: argo.ExecutorTokenSecret},
				}}},
			},
		}
		if edit != nil {
			edit(p)
		}
		return p
	}
	wait := func(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[1] }
	// Each refused for its own rule: why is what its message says ("" for
	// an admitted pod).
	const (
		tokenRule  = argo.ExecutorTokenSecret
		secretRule = "may use only the Secrets of argo.workflowSecrets"
		hostRule   = "may not share a process namespace"
	)
	tokenCases := []struct {
		what string
		pod  *corev1.Pod
		why  string
	}{
		{"the executor's token in Argo's init and wait containers", argoPod(nil), ""},
		{"the executor's token in a step's own container", argoPod(func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "exec-sa-token", MountPath: "/t"}}
		}), tokenRule},
		{"the executor's token under another volume name in a step's container", argoPod(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "t", VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: argo.ExecutorTokenSecret},
			}})
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "t", MountPath: "/t"}}
		}), tokenRule},
		{"the executor's token in the environment", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.Containers[0].Env = []corev1.EnvVar{{Name: "T", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: argo.ExecutorTokenSecret}, Key: "token",
			}}}}
		}), secretRule},
		{"the wait container patched to report for another workflow's node", argoPod(func(p *corev1.Pod) {
			wait(p).Env[0].Value = "payroll-9f8e7-1234"
		}), tokenRule},
		{"the wait container patched to another workflow's name", argoPod(func(p *corev1.Pod) {
			wait(p).Env[1].Value = "payroll-9f8e7"
		}), tokenRule},
		{"the wait container patched to report for a node its pod does not run", argoPod(func(p *corev1.Pod) {
			wait(p).Env[0].Value = "nightly-x7k2p-9999"
		}), tokenRule},
		{"the wait container with a second node id", argoPod(func(p *corev1.Pod) {
			wait(p).Env = append(wait(p).Env, corev1.EnvVar{Name: "ARGO_NODE_ID", Value: "payroll-9f8e7-1234"})
		}), tokenRule},
		{"the wait container running another image", argoPod(func(p *corev1.Pod) { wait(p).Image = "busybox:1.36" }), tokenRule},
		{"the wait container sending its token to another server", argoPod(func(p *corev1.Pod) {
			wait(p).Command = append(wait(p).Command, "--server=https://198.51.100.7")
		}), tokenRule},
		{"the wait container given args", argoPod(func(p *corev1.Pod) { wait(p).Args = []string{"--kubeconfig=/tmp/k"} }), tokenRule},
		{"the wait container running a hook of the author's", argoPod(func(p *corev1.Pod) {
			wait(p).Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/var/run/argo/x"}}}}
		}), tokenRule},
		{"the wait container running a probe of the author's", argoPod(func(p *corev1.Pod) {
			wait(p).StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/var/run/argo/x"}}}}
		}), tokenRule},
		{"the wait container given another PATH", argoPod(func(p *corev1.Pod) {
			wait(p).Env = append(wait(p).Env, corev1.EnvVar{Name: "PATH", Value: "/var/run/argo:/bin"})
		}), tokenRule},
		{"the wait container given a volume over argoexec's folder", argoPod(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "bin", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			wait(p).VolumeMounts = append(wait(p).VolumeMounts, corev1.VolumeMount{Name: "bin", MountPath: "/usr/local/bin"})
		}), tokenRule},
		{"the executor's token mounted writable", argoPod(func(p *corev1.Pod) { wait(p).VolumeMounts[0].ReadOnly = false }), tokenRule},
		{"the wait container given the token where a step's outputs are read", argoPod(func(p *corev1.Pod) {
			wait(p).VolumeMounts = append(wait(p).VolumeMounts, corev1.VolumeMount{Name: "exec-sa-token", MountPath: "/mainctrfs/out"})
		}), tokenRule},
		{"the executor's token in a pod no Workflow owns", argoPod(func(p *corev1.Pod) { p.OwnerReferences = nil }), tokenRule},
		{"a process namespace shared with the wait container", argoPod(func(p *corev1.Pod) {
			p.Spec.ShareProcessNamespace = func(b bool) *bool { return &b }(true)
		}), hostRule},
		{"the node's disk", pod(n.Workflow.KSA, func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet/pods"}}}}
		}), hostRule},
		{"the node's process namespace", pod(n.Workflow.KSA, func(s *corev1.PodSpec) { s.HostPID = true }), hostRule},
	}
	for _, c := range tokenCases {
		_, err := cluster.Client.CoreV1().Pods(wfNS).Create(ctx, c.pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if c.why == "" {
			assert.NoError(t, err, "a pod with %s is admitted", c.what)
		} else if assert.Error(t, err, "a pod with %s is refused", c.what) {
			assert.Contains(t, err.Error(), c.why, "%s: refused by its own rule", c.what)
		}
	}
	_, err := cluster.Client.CoreV1().ServiceAccounts(wfNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: intruderKSA}}, metav1.CreateOptions{})
	require.NoError(t, err)
	defer cluster.Client.CoreV1().ServiceAccounts(wfNS).Delete(ctx, intruderKSA, metav1.DeleteOptions{})
	for _, c := range cases {
		_, err := cluster.Client.CoreV1().Pods(wfNS).Create(ctx, c.pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !c.refuse {
			assert.NoError(t, err, "a pod using %s is admitted", c.what)
			continue
		}
		if assert.Error(t, err, "a pod using %s is refused", c.what) {
			assert.Contains(t, err.Error(), policy, "%s: refused by the workflow namespace's policy", c.what)
		}
	}
	// Each identity's namespace admits the identity alone (Argo's executor
	// beside it), never the workflow account.
	for _, wi := range cfg.Identities {
		ns := wfNS + "-" + wi.Name
		_, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: n.Workflow.KSA}}, metav1.CreateOptions{})
		require.NoError(t, err)
		defer cluster.Client.CoreV1().ServiceAccounts(ns).Delete(ctx, n.Workflow.KSA, metav1.DeleteOptions{})
		for _, c := range []struct {
			what   string
			pod    *corev1.Pod
			refuse bool
		}{
			{"the workflow identity " + wi.Name, pod(wi.Name, nil), false},
			{"the workflow identity " + wi.Name + " with Argo's executor", argoPod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = wi.Name }), false},
			{"the workflow account", pod(n.Workflow.KSA, nil), true},
			{"the namespace's default account", pod("", nil), true},
			{"the admin's Secret as a volume", pod(wi.Name, secretVolume(admin)), true},
		} {
			_, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, c.pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if !c.refuse {
				assert.NoError(t, err, "in %s a pod using %s is admitted", ns, c.what)
			} else if assert.Error(t, err, "in %s a pod using %s is refused", ns, c.what) {
				assert.Contains(t, err.Error(), policy, "%s: refused by the workflow namespaces' policy", c.what)
			}
		}
	}
	// The policy holds for the workflow namespaces only: the same pod in
	// Argo's home namespace is a matter for RBAC (only the deployer may
	// create pods there), not for this policy.
	_, err = cluster.Client.CoreV1().Pods(cfg.Argo.Namespace).Create(ctx, pod(n.Controller.KSA, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	assert.NoError(t, err)
}

// checkDestroyed checks what `pulumi destroy` (begun at since) did. GKE
// released the load balancer while the static address, the subnet and the
// cluster still stood, and the NEGs while the subnet and the cluster did:
// destroy deleted the Ingress, the Service and the namespace itself and
// waited for GKE's finalizers. The namespace and the stand-ins are gone.
// The cluster-scoped objects that are DeletedWith the cluster are still
// there: destroy skipped them, as on GKE, where deleting the cluster takes
// them; the test then removes them as that deletion would.
func checkDestroyed(t *testing.T, ctx context.Context, cfg *stacks.Loaded, since time.Time) {
	t.Helper()
	ns := cfg.Argo.Namespace
	want := map[string][]string{
		"load balancer " + ns + "/argo-server":        {localdeploy.StandInAddress, localdeploy.StandInCluster, localdeploy.StandInSubnet},
		"NEGs " + ns + "/k8s1-" + ns + "-argo-server": {localdeploy.StandInCluster, localdeploy.StandInSubnet},
	}
	released := map[string]bool{}
	for _, r := range gke.Releases() {
		need, ok := want[r.What]
		if !ok || r.At.Before(since) {
			continue
		}
		released[r.What] = true
		for _, standIn := range need {
			assert.Contains(t, r.Present, standIn, "%s: released before the %s was deleted", r, standIn)
		}
	}
	for what := range want {
		assert.True(t, released[what], "destroy waited for GKE to release the %s", what)
	}
	for _, name := range append([]string{ns, localdeploy.StandInNamespace}, realargo.WorkflowNamespaces(cfg)...) {
		_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if cfg.Protect && name != localdeploy.StandInNamespace {
			// Production's namespaces are retained on delete: what was
			// made in them by hand outlives even a destroy.
			assert.NoError(t, err, "production's namespace %s is retained", name)
			continue
		}
		assert.True(t, apierrors.IsNotFound(err), "namespace %s is gone (err=%v)", name, err)
	}

	client, err := apiext.NewForConfig(cluster.Config)
	require.NoError(t, err)
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	pcs := cluster.Client.SchedulingV1().PriorityClasses()
	for _, plural := range argoCRDs {
		_, err := crds.Get(ctx, plural+".argoproj.io", metav1.GetOptions{})
		assert.NoError(t, err, "CRD %s is DeletedWith the cluster: destroy skips it", plural)
	}
	_, err = pcs.Get(ctx, "workflow-controller", metav1.GetOptions{})
	assert.NoError(t, err, "the PriorityClass is DeletedWith the cluster: destroy skips it")
	for _, name := range clusterReaders(ns) {
		_, err = cluster.Client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		assert.NoError(t, err, "the ClusterRole %s is DeletedWith the cluster: destroy skips it", name)
	}
	_, err = cluster.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, argo.AdmissionPolicyName(cfg.Argo.WorkflowNamespace), metav1.GetOptions{})
	assert.NoError(t, err, "the admission policy is DeletedWith the cluster: destroy skips it")
	// What deleting the cluster does.
	cleanCluster(t, ctx, cfg)
}

// clusterReaders name the controller's and the server's ClusterRoles and
// their bindings, for Argo's home namespace ns.
func clusterReaders(ns string) []string {
	return []string{"argo-controller-" + ns, "argo-server-" + ns}
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// The stack files as they ship, handed to the real engine: `pulumi preview`
// and `pulumi up` fail naming each example value, and the stack holds no
// resource afterwards. The program returns before its first resource, so
// not even the GCP provider is loaded (none is installed here).
func TestTheRealEngineRefusesTheShippedExampleValues(t *testing.T) {
	ctx := context.Background()
	for _, stack := range tests.Stacks {
		t.Run(stack, func(t *testing.T) {
			raw, err := tests.RawStackConfig(stack)
			require.NoError(t, err)
			s, err := localdeploy.Stack(ctx, stack, t.TempDir(), infra.Deploy)
			require.NoError(t, err)
			config := auto.ConfigMap{}
			for k, v := range raw {
				config[k] = auto.ConfigValue{Value: v, Secret: k == stacks.KeyDatabaseAdminPassword || k == stacks.KeySSOClientSecret}
			}
			require.NoError(t, s.SetAllConfig(ctx, config))
			want := []string{
				`gcp:project: "example-argo-` + stack + `" is an example value`,
				`argo-platform:settings.domain: "argo.`,
				`argo-platform:settings.cluster.authorizedNetworks[0].cidr: "203.0.113.0/24" is an example value`,
				`nothing was created`,
			}
			_, err = s.Preview(ctx)
			require.Error(t, err)
			for _, w := range want {
				assert.Contains(t, err.Error(), w)
			}
			_, err = s.Up(ctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want[0])
			state, err := s.Export(ctx)
			require.NoError(t, err)
			var deployment struct {
				Resources []struct{ Type string } `json:"resources"`
			}
			require.NoError(t, json.Unmarshal(state.Deployment, &deployment))
			for _, r := range deployment.Resources {
				assert.Equal(t, "pulumi:pulumi:Stack", r.Type, "nothing but the stack itself is in the state")
			}
		})
	}
}
