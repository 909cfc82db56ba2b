//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/stacks"
)

// The people TestStacks signs in, beside the stack files' data-lead (an
// editor who runs everywhere, realargo.Operator): stackSettings lists the
// runner in access.runners and the loader in each identity's runners; the
// analyst is only in the viewers' domain; the outsider in none.
const (
	analystEmail  = "analyst@acme-data.dev"
	runnerEmail   = "runner@acme-data.dev"
	loaderEmail   = "loader@acme-data.dev"
	outsiderEmail = "someone@elsewhere.dev"
)

// checkPeople signs each person in to the real argo-server through the
// sign-in stand-in and checks that what the stack's access lists allow
// them succeeds and the rest is refused, by the server or by the API
// server: every request acts as the account the person's sign-in picks.
func (l *liveArgo) checkPeople(t *testing.T, ctx context.Context) {
	login := func(email string) string {
		t.Helper()
		s, err := l.SignIn.Login(ctx, email)
		require.NoError(t, err, "server log:\n%s", l.Server.Tail(20))
		return s
	}
	analyst, runner, outsider, editor := login(analystEmail), login(runnerEmail), login(outsiderEmail), signedIn
	wfNS := l.ns
	list := "/api/v1/workflows/" + wfNS
	submit := func(session, ns, generateName string, spec func(map[string]any)) (int, workflow) {
		wf := oneStep(generateName, "echo hello", nil)
		if spec != nil {
			spec(wf["spec"].(map[string]any))
		}
		var created workflow
		return apiAs(t, session, http.MethodPost, "/api/v1/workflows/"+ns, map[string]any{"workflow": wf}, &created), created
	}
	cron := func(session, ns, name string) int {
		return apiAs(t, session, http.MethodPost, "/api/v1/cron-workflows/"+ns, map[string]any{"cronWorkflow": map[string]any{
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"schedules": []string{"0 3 * * *"}, "workflowSpec": oneStep("", "echo tick", nil)["spec"]},
		}}, nil)
	}

	t.Run("a request with no session, a forged one or an outsider's is refused", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, apiAs(t, "", http.MethodGet, list, nil, nil))
		assert.Equal(t, http.StatusUnauthorized, apiAs(t, "Bearer v2:forged.by.anyone", http.MethodGet, list, nil, nil))
		assert.Equal(t, http.StatusForbidden, apiAs(t, outsider, http.MethodGet, list, nil, nil), "signed in, but in no list")
		code, _ := submit(outsider, wfNS, "outsider-", nil)
		assert.Equal(t, http.StatusForbidden, code)
		// Nobody has the server fetch an artifact as itself (an HTTP
		// artifact's URL and headers are the workflow's): the artifact
		// routes are not served, so the path falls through to the UI's
		// page (with them served, a workflow that does not exist gets the
		// artifact server's own error, not HTML).
		for _, path := range []string{"/input-artifacts/" + wfNS + "/w/n/a", "/artifact-files/" + wfNS + "/workflows/w/n/outputs/a"} {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, argoServer+path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", editor)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/html", "%s: %s %s", path, resp.Status, body)
		}
	})

	t.Run("a viewer looks and changes nothing", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, apiAs(t, analyst, http.MethodGet, list, nil, nil))
		assert.Equal(t, http.StatusOK, apiAs(t, analyst, http.MethodGet, "/api/v1/archived-workflows?namespace="+wfNS, nil, nil))
		assert.Equal(t, http.StatusOK, apiAs(t, analyst, http.MethodGet, "/api/v1/cron-workflows/"+wfNS, nil, nil))
		code, _ := submit(analyst, wfNS, "analyst-", nil)
		assert.Equal(t, http.StatusForbidden, code, "a viewer submits nothing")
		assert.Equal(t, http.StatusForbidden, cron(analyst, wfNS, "analyst-nightly"))
	})

	var ran workflow
	t.Run("a runner runs as the workflow account, and what they submit names them", func(t *testing.T) {
		code, wf := submit(runner, wfNS, "by-runner-", nil)
		require.Equal(t, http.StatusOK, code, "server log:\n%s", l.Server.Tail(20))
		assert.Equal(t, strings.ReplaceAll(runnerEmail, "@", ".at."), wf.Metadata.Labels["workflows.argoproj.io/creator-email"], "Argo's creator label")
		assert.Equal(t, "Succeeded", l.finished(t, wf.Metadata.Name).Status.Phase)
		ran = wf
		// Archived, its delete (by uid: the person's account at home
		// decides) is an editor's, not a runner's or a viewer's.
		var uid string
		require.Eventually(t, func() bool { uid = archivedWorkflows(t, wfNS)[wf.Metadata.Name]; return uid != "" }, time.Minute, 250*time.Millisecond, "archived")
		for _, who := range []string{runner, analyst} {
			assert.Equal(t, http.StatusForbidden, apiAs(t, who, http.MethodDelete, "/api/v1/archived-workflows/"+uid, nil, nil))
		}
		assert.Contains(t, archivedWorkflows(t, wfNS), wf.Metadata.Name, "still archived")
		assert.Equal(t, http.StatusForbidden, cron(runner, wfNS, "runner-nightly"), "a runner changes no schedule")
		assert.Equal(t, http.StatusForbidden, apiAs(t, runner, http.MethodDelete, "/api/v1/workflows/"+wfNS+"/"+wf.Metadata.Name, nil, nil), "nor deletes a workflow")
	})

	t.Run("an editor changes schedules where they run", func(t *testing.T) {
		require.Equal(t, http.StatusOK, cron(editor, wfNS, "editor-nightly"))
		assert.Equal(t, http.StatusOK, apiAs(t, editor, http.MethodDelete, "/api/v1/cron-workflows/"+wfNS+"/editor-nightly", nil, nil))
	})

	for _, wi := range l.cfg.Identities {
		ns := stacks.IdentityNamespace(l.cfg.Settings, wi)
		t.Run("only the runners of "+wi.Name+" run as it, by any path", func(t *testing.T) {
			loader := login(loaderEmail)
			asIdentity := func(spec map[string]any) { spec["serviceAccountName"] = wi.Name }
			for _, who := range []struct{ name, session string }{{"a viewer", analyst}, {"the workflow account's runner", runner}} {
				code, _ := submit(who.session, ns, "not-a-runner-", asIdentity)
				assert.Equal(t, http.StatusForbidden, code, "%s submits into %s", who.name, ns)
			}
			code, wf := submit(loader, ns, "by-loader-", asIdentity)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, strings.ReplaceAll(loaderEmail, "@", ".at."), wf.Metadata.Labels["workflows.argoproj.io/creator-email"])
			done := l.finishedIn(t, ns, wf.Metadata.Name)
			assert.Equal(t, "Succeeded", done.Status.Phase, done.Status.Message)
			// A resubmit creates a workflow in the original's namespace,
			// as the one who asks.
			assert.Equal(t, http.StatusForbidden, apiAs(t, runner, http.MethodPut, "/api/v1/workflows/"+ns+"/"+wf.Metadata.Name+"/resubmit", map[string]any{}, nil), "the workflow account's runner resubmits as the identity")
			assert.Equal(t, http.StatusOK, apiAs(t, loader, http.MethodPut, "/api/v1/workflows/"+ns+"/"+wf.Metadata.Name+"/resubmit", map[string]any{}, nil))
			// The identity's runner, where they may not run: nothing, even
			// naming the identity (the namespace's admission would refuse
			// its pod anyway).
			code, _ = submit(loader, wfNS, "loader-elsewhere-", asIdentity)
			assert.Equal(t, http.StatusForbidden, code)
			assert.Equal(t, http.StatusForbidden, apiAs(t, loader, http.MethodPut, "/api/v1/workflows/"+wfNS+"/"+ran.Metadata.Name+"/resubmit", map[string]any{}, nil))
			// A retry runs the failed steps again, as the identity.
			code, failed := submit(loader, ns, "fails-as-loader-", func(spec map[string]any) {
				asIdentity(spec)
				spec["templates"].([]any)[0].(map[string]any)["container"].(map[string]any)["command"] = []string{"sh", "-c", "exit 3"}
			})
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "Failed", l.finishedIn(t, ns, failed.Metadata.Name).Status.Phase)
			retry := "/api/v1/workflows/" + ns + "/" + failed.Metadata.Name + "/retry"
			assert.Equal(t, http.StatusForbidden, apiAs(t, runner, http.MethodPut, retry, map[string]any{}, nil), "the workflow account's runner retries as the identity")
			assert.Equal(t, http.StatusOK, apiAs(t, loader, http.MethodPut, retry, map[string]any{}, nil))
			// A WorkflowTemplate of its namespace, run by reference: a
			// template runs in its own namespace, as whoever submits it.
			tmpl := map[string]any{
				"metadata": map[string]any{"name": "load-daily"},
				"spec":     oneStep("", "echo load", nil)["spec"],
			}
			tmpl["spec"].(map[string]any)["serviceAccountName"] = wi.Name
			assert.Equal(t, http.StatusForbidden, apiAs(t, loader, http.MethodPost, "/api/v1/workflow-templates/"+ns, map[string]any{"template": tmpl}, nil), "a runner makes no template")
			require.Equal(t, http.StatusOK, apiAs(t, editor, http.MethodPost, "/api/v1/workflow-templates/"+ns, map[string]any{"template": tmpl}, nil))
			fromTemplate := map[string]any{"resourceKind": "WorkflowTemplate", "resourceName": "load-daily"}
			// argo-server finds a template by reference in its own cache
			// (an informer), which holds a new one a moment after it is
			// made: until then a submit answers 404.
			var submitted int
			require.Eventually(t, func() bool {
				submitted = apiAs(t, loader, http.MethodPost, "/api/v1/workflows/"+ns+"/submit", fromTemplate, nil)
				return submitted != http.StatusNotFound
			}, 30*time.Second, 200*time.Millisecond, "argo-server sees the new template")
			assert.Equal(t, http.StatusOK, submitted, "the identity's runner runs its template")
			assert.Equal(t, http.StatusForbidden, apiAs(t, runner, http.MethodPost, "/api/v1/workflows/"+ns+"/submit", fromTemplate, nil), "the workflow account's runner runs the identity's template")
			assert.Equal(t, http.StatusOK, apiAs(t, editor, http.MethodDelete, "/api/v1/workflow-templates/"+ns+"/load-daily", nil, nil))
			// Scheduling as the identity needs an editor who also runs as it.
			assert.Equal(t, http.StatusForbidden, cron(loader, ns, "loader-nightly"), "a runner schedules nothing")
			require.Equal(t, http.StatusOK, cron(editor, ns, "editor-nightly"), "the editor runs as %s too", wi.Name)
			assert.Equal(t, http.StatusOK, apiAs(t, editor, http.MethodDelete, "/api/v1/cron-workflows/"+ns+"/editor-nightly", nil, nil))
		})
	}
}
