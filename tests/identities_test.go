package tests

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
)

// runSettings runs the program for stack with its settings block changed by
// edit (a decoded copy of the stack file's).
func runSettings(t *testing.T, stack string, dryRun bool, edit func(map[string]any)) *Recorder {
	t.Helper()
	config, err := EditedConfig(stack, edit)
	require.NoError(t, err)
	rec, err := Run(infra.Deploy, stack, config, dryRun)
	require.NoError(t, err)
	return rec
}

// mentions lists the resources whose inputs name s anywhere.
func mentions(rec *Recorder, s string) []string {
	var out []string
	for _, res := range rec.Resources() {
		for _, v := range res.Inputs {
			if strings.Contains(fmt.Sprint(v), s) {
				out = append(out, res.Type+" "+res.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Every grant a workflow identity declares reaches GCP, on the resource it
// names, for its own service account, and nothing more: no other IAM
// binding names that account. Its Kubernetes ServiceAccount lives in the
// workflow namespace, acts as it through Workload Identity, may report
// results like the default workflow account, and is on the admission
// policy's allowlist.
func TestWorkflowIdentitiesGetExactlyTheirGrants(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		if len(r.cfg.Identities) == 0 {
			t.Skipf("%s declares no workflow identity", r.stack)
		}
		p, env, wfNS := r.cfg.Project, r.stack, r.cfg.Argo.WorkflowNamespace
		for _, wi := range r.cfg.Identities {
			email := wi.Name + "-" + env + "@" + p + ".iam.gserviceaccount.com"
			member := "serviceAccount:" + email
			sa := one(t, r.rec, "gcp:serviceaccount/account:Account", "identity-wf-"+wi.Name)
			assert.Equal(t, wi.Name+"-"+env, Str(sa.Inputs, "accountId"))
			assert.Equal(t, wi.Description, Str(sa.Inputs, "description"))

			wanted := []string{}
			for _, role := range wi.ProjectRoles {
				wanted = append(wanted, "project "+p+" "+role)
			}
			for _, d := range wi.Datasets {
				wanted = append(wanted, "dataset "+p+"."+d.Dataset+" "+d.Role)
			}
			for _, b := range wi.Buckets {
				wanted = append(wanted, "bucket "+b.Bucket+" "+b.Role)
			}
			for _, s := range wi.Secrets {
				wanted = append(wanted, "secret "+p+"/"+s.Secret+" "+s.Role)
			}
			var got []string
			prefix := "identity-wf-" + wi.Name + "-"
			for _, typ := range []string{"gcp:projects/iAMMember:IAMMember", "gcp:bigquery/datasetIamMember:DatasetIamMember", "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:secretmanager/secretIamMember:SecretIamMember"} {
				for _, m := range r.rec.OfType(typ) {
					if !strings.HasPrefix(m.Name, prefix) {
						continue
					}
					if !r.dryRun {
						assert.Equal(t, member, Str(m.Inputs, "member"), m.Name)
					}
					switch typ {
					case "gcp:projects/iAMMember:IAMMember":
						got = append(got, "project "+Str(m.Inputs, "project")+" "+Str(m.Inputs, "role"))
					case "gcp:bigquery/datasetIamMember:DatasetIamMember":
						got = append(got, "dataset "+Str(m.Inputs, "project")+"."+Str(m.Inputs, "datasetId")+" "+Str(m.Inputs, "role"))
					case "gcp:secretmanager/secretIamMember:SecretIamMember":
						got = append(got, "secret "+Str(m.Inputs, "project")+"/"+Str(m.Inputs, "secretId")+" "+Str(m.Inputs, "role"))
					default:
						got = append(got, "bucket "+Str(m.Inputs, "bucket")+" "+Str(m.Inputs, "role"))
					}
				}
			}
			assert.ElementsMatch(t, wanted, got, "%s: the declared grants, each once", wi.Name)
			if !r.dryRun {
				// Nothing else names the account: no grant beyond the
				// declared ones, and only its own Workload Identity member.
				var others []string
				for _, name := range mentions(r.rec, email) {
					if !strings.Contains(name, prefix) && !strings.HasSuffix(name, " identity-wf-"+wi.Name) &&
						!strings.HasSuffix(name, "argo-sa-"+wi.Name) && name != "gcp:storage/bucketIAMMember:BucketIAMMember logs-wf-"+wi.Name+"-storage-objectuser" {
						others = append(others, name)
					}
				}
				assert.Empty(t, others, "%s is named only by its declared grants, its log folder and its ServiceAccount", wi.Name)
				// Its log folder: objects under argo/<name>/ of the log
				// bucket, nothing else of it (TestEveryPrincipalMayDoExactlyWhatItsCodePathNeeds
				// evaluates the condition).
				folder := one(t, r.rec, "gcp:storage/bucketIAMMember:BucketIAMMember", "logs-wf-"+wi.Name+"-storage-objectuser")
				assert.Equal(t, member, Str(folder.Inputs, "member"))
				assert.Contains(t, Str(folder.Inputs, "condition.expression"), `/objects/argo/`+wi.Name+`/")`)
			}

			wiBinding := one(t, r.rec, "gcp:serviceaccount/iAMMember:IAMMember", "identity-wf-"+wi.Name+"-workload-identity")
			// In a namespace of its own: Argo trusts results by namespace.
			ns := wfNS + "-" + wi.Name
			assert.Equal(t, "serviceAccount:"+p+".svc.id.goog["+ns+"/"+wi.Name+"]", Str(wiBinding.Inputs, "member"))

			ksa := kubeIn(t, r.rec, "kubernetes:core/v1:ServiceAccount", ns, wi.Name)
			if !r.dryRun {
				assert.Equal(t, email, annotation(t, ksa, "iam.gke.io/gcp-service-account"))
			}
			for _, b := range r.rec.OfType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding") {
				for i := range Len(b.Inputs, "subjects") {
					assert.NotEqual(t, wi.Name, Str(b.Inputs, fmt.Sprintf("subjects[%d].name", i)),
						"the steps running as %s hold its token: it is bound to no Role (%s)", wi.Name, b.Name)
				}
			}
		}
	})
}

// Removing an identity from the settings removes its account, its grants,
// its ServiceAccount and its place on the allowlist: the next `up` deletes
// whatever the previous one registered for it and nothing else.
func TestRemovingAWorkflowIdentityRemovesEverythingItHad(t *testing.T) {
	const stack = stacks.Experimental
	with := runSettings(t, stack, false, func(map[string]any) {})
	without := runSettings(t, stack, false, func(m map[string]any) { delete(m, "identities") })
	require.NotEmpty(t, runStack(t, stack, false).cfg.Identities, "the experimental stack file carries an example identity")

	names := func(rec *Recorder) map[string]bool {
		out := map[string]bool{}
		for _, res := range rec.Resources() {
			out[res.Type+" "+res.Name] = true
		}
		return out
	}
	before, after := names(with), names(without)
	var gone []string
	for n := range before {
		if !after[n] {
			gone = append(gone, n)
		}
	}
	// The editors' accounts at home are named after the namespaces their
	// editors run in (argo.ArchiveEditorKSA): one goes, one comes.
	homeEditor := regexp.MustCompile(`argo-sso-editor-[0-9a-f]{8}`)
	for n := range after {
		assert.True(t, before[n] || homeEditor.MatchString(n), "%s appears only without the identity", n)
	}
	slices.Sort(gone)
	t.Logf("removed with the identity:\n  %s", strings.Join(gone, "\n  "))
	assert.NotEmpty(t, gone)
	for _, n := range gone {
		// The Secret Manager API is enabled only while an identity is
		// granted a secret; Pulumi forgets it and the project keeps it on
		// (DisableOnDestroy is false).
		// Its namespace and what the platform puts in every workflow
		// namespace (the executor's account and token, the Roles, the
		// ingress policy) carry its name as a suffix.
		assert.True(t, strings.Contains(n, "identity-wf-bq-loader") || strings.HasSuffix(n, "-bq-loader") || homeEditor.MatchString(n) ||
			n == "gcp:storage/bucketIAMMember:BucketIAMMember logs-wf-bq-loader-storage-objectuser" ||
			n == "gcp:projects/service:Service apis-secretmanager",
			"%s goes with the identity", n)
	}
	assert.Empty(t, mentions(without, "bq-loader"), "nothing left names it")

	policy := without.Named("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", "argo-admission-policy")
	require.NotNil(t, policy)
	assert.Equal(t, `{"workflows": "argo-workflow"}`, Str(policy.Inputs, "spec.variables[0].expression"), "the allowlist is back to the default account")
}
