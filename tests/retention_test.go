package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/stacks"
)

// dataHolders are the types whose deletion deletes data: the cluster and
// the database (Argo's archive), the log bucket, Argo's namespaces (with
// the CronWorkflows, WorkflowTemplates, event bindings and Secrets made
// there by hand) and Argo's CRDs (every object of their kind).
var dataHolders = []string{
	"gcp:container/cluster:Cluster",
	"gcp:sql/databaseInstance:DatabaseInstance",
	"gcp:sql/database:Database",
	"gcp:storage/bucket:Bucket",
	"kubernetes:core/v1:Namespace",
	"kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
}

// name is what a resource is called where it lives: a change of it is a
// replacement.
func name(r *Registered) string {
	if n := Str(r.Inputs, "metadata.name"); n != "" {
		return n
	}
	return Str(r.Inputs, "name")
}

// No settings change deletes production's data. Each change that moves or
// renames something (the namespaces, the Argo release, the identities) is
// run against production's registrations: every data-holding resource the
// program would then delete (its URN gone) or replace (its name changed)
// is protected (the change is refused until someone unprotects it) or
// retained on delete (it stays, with what it holds). Experimental keeps
// neither on its namespaces and CRDs, so a teardown leaves nothing behind.
func TestNoSettingsChangeDeletesProductionsData(t *testing.T) {
	before := runStack(t, stacks.Production, false).rec
	for what, edit := range map[string]func(map[string]any){
		"the workflow namespace moved": func(s map[string]any) { Section(s, "argo")["workflowNamespace"] = "pipelines" },
		"Argo's namespace moved":       func(s map[string]any) { Section(s, "argo")["namespace"] = "argo-system" },
		"another Argo release":         func(s map[string]any) { Section(s, "argo")["version"] = argoproj.Versions[0] },
		"the identities removed":       func(s map[string]any) { delete(s, "identities") },
	} {
		t.Run(what, func(t *testing.T) {
			after := runSettings(t, stacks.Production, false, edit)
			changed := 0
			for _, typ := range dataHolders {
				for _, old := range before.OfType(typ) {
					now := after.Named(typ, old.Name)
					if now != nil && name(now) == name(old) {
						continue
					}
					changed++
					assert.True(t, old.Protect || old.RetainOnDelete, "%s %s would be deleted or replaced by %s, and is neither protected nor retained", typ, old.Name, what)
				}
			}
			t.Logf("%s: %d data-holding resource(s) deleted or replaced, each kept", what, changed)
		})
	}

	for _, typ := range []string{"kubernetes:core/v1:Namespace", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"} {
		require.NotEmpty(t, before.OfType(typ))
		for _, r := range before.OfType(typ) {
			assert.True(t, r.RetainOnDelete, "production's %s %s is retained on delete", typ, r.Name)
		}
		for _, r := range runStack(t, stacks.Experimental, false).rec.OfType(typ) {
			assert.False(t, r.RetainOnDelete, "experimental's %s %s goes with a teardown", typ, r.Name)
		}
	}
}
