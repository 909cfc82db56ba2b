package tests

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/stacks"
)

// kube finds the Kubernetes object of typ whose metadata.name is name.
func kube(t *testing.T, rec *Recorder, typ, name string) *Registered {
	t.Helper()
	var found []*Registered
	for _, res := range rec.OfType(typ) {
		if Str(res.Inputs, "metadata.name") == name {
			found = append(found, res)
		}
	}
	require.Len(t, found, 1, "one %s named %s", typ, name)
	return found[0]
}

// kubeIn is the object typ named name in namespace ns.
func kubeIn(t *testing.T, rec *Recorder, typ, ns, name string) *Registered {
	t.Helper()
	for _, res := range rec.OfType(typ) {
		if Str(res.Inputs, "metadata.name") == name && Str(res.Inputs, "metadata.namespace") == ns {
			return res
		}
	}
	require.Failf(t, "missing object", "no %s %s/%s", typ, ns, name)
	return nil
}

func container(t *testing.T, dep *Registered, path string) resource.PropertyMap {
	t.Helper()
	v := Prop(dep.Inputs, path)
	require.True(t, v.IsObject(), "%s: no %s", dep.Name, path)
	return v.ObjectValue()
}

func envOf(c resource.PropertyMap) map[string]string {
	out := map[string]string{}
	for i := range Len(c, "env") {
		out[Str(c, fmt.Sprintf("env[%d].name", i))] = Str(c, fmt.Sprintf("env[%d].value", i))
	}
	return out
}

func flagValue(args []string, flag string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// allContainers returns every container and init container of a pod spec.
func allContainers(t *testing.T, dep *Registered, spec string) []resource.PropertyMap {
	var out []resource.PropertyMap
	for _, list := range []string{"initContainers", "containers"} {
		for i := range Len(dep.Inputs, spec+"."+list) {
			out = append(out, container(t, dep, fmt.Sprintf("%s.%s[%d]", spec, list, i)))
		}
	}
	return out
}

func TestTheControllerAndServerRunHardenedBesideTheirCloudSQLProxy(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings
		ctrl := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "workflow-controller")
		c := container(t, ctrl, "spec.template.spec.containers[0]")
		args := Strs(c, "args")
		// Every namespace: workflows run in one per account.
		assert.NotContains(t, args, "--namespaced")
		assert.Empty(t, flagValue(args, "--managed-namespace"))
		assert.Equal(t, "workflow-controller-configmap", flagValue(args, "--configmap"))
		assert.Equal(t, "quay.io/argoproj/argoexec:"+s.Argo.Version, flagValue(args, "--executor-image"))
		assert.Equal(t, fmt.Sprint(s.Argo.WorkflowWorkers), flagValue(args, "--workflow-workers"))
		assert.Equal(t, "quay.io/argoproj/workflow-controller:"+s.Argo.Version, Str(c, "image"))
		assert.Equal(t, "true", envOf(c)["LEADER_ELECTION_DISABLE"])
		// Argo reads DEFAULT_REQUEUE_TIME as a Go duration; make bench
		// measures what it changes.
		requeue, err := time.ParseDuration(envOf(c)["DEFAULT_REQUEUE_TIME"])
		require.NoError(t, err, "Argo parses DEFAULT_REQUEUE_TIME with time.ParseDuration")
		assert.Equal(t, time.Duration(s.Argo.RequeueSeconds)*time.Second, requeue)
		replicas := MustNum(t, ctrl.Inputs, "spec.replicas")
		assert.Equal(t, 1.0, replicas)
		assert.Equal(t, "Recreate", Str(ctrl.Inputs, "spec.strategy.type"))
		assert.Equal(t, "/healthz", Str(c, "livenessProbe.httpGet.path"))
		port := MustNum(t, c, "livenessProbe.httpGet.port")
		assert.Equal(t, 6060.0, port)
		assert.Equal(t, "workflow-controller", Str(ctrl.Inputs, "spec.template.spec.priorityClassName"))

		srv := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "argo-server")
		sc := container(t, srv, "spec.template.spec.containers[0]")
		sargs := Strs(sc, "args")
		assert.Equal(t, "server", sargs[0])
		for _, want := range []string{"--secure=false", "--auth-mode=sso", "--configmap=argo-server-configmap"} {
			assert.Contains(t, sargs, want)
		}
		assert.NotContains(t, sargs, "--namespaced", "it serves every workflow namespace")
		assert.Equal(t, "/", Str(sc, "readinessProbe.httpGet.path"))
		assert.Equal(t, "HTTP", Str(sc, "readinessProbe.httpGet.scheme"), "IAP talks HTTP to the backend")
		rport := MustNum(t, sc, "readinessProbe.httpGet.port")
		assert.Equal(t, 2746.0, rport)
		sreplicas := MustNum(t, srv.Inputs, "spec.replicas")
		assert.Equal(t, float64(s.Argo.ServerReplicas), sreplicas)
		pdbs := r.rec.OfType("kubernetes:policy/v1:PodDisruptionBudget")
		if r.stack == stacks.Production {
			assert.GreaterOrEqual(t, sreplicas, 2.0)
			assert.Len(t, pdbs, 1, "production keeps one server up during drains")
		} else {
			assert.Empty(t, pdbs)
		}

		for _, dep := range []*Registered{ctrl, srv} {
			proxy := container(t, dep, "spec.template.spec.initContainers[0]")
			assert.Equal(t, "Always", Str(proxy, "restartPolicy"), "native sidecar")
			pargs := Strs(proxy, "args")
			for _, want := range []string{"--auto-iam-authn", "--private-ip", "--port=5432"} {
				assert.Contains(t, pargs, want)
			}
			assert.NotEqual(t, "9090", flagValue(pargs, "--http-port"), "the proxy's health port must not take the metrics port")
			assert.Equal(t, "/startup", Str(proxy, "startupProbe.httpGet.path"))
			if r.dryRun {
				n := Len(proxy, "args")
				assert.False(t, Known(proxy, fmt.Sprintf("args[%d]", n-1)), "the connection name is computed at create time")
			} else {
				assert.Equal(t, s.Project+":"+s.Region+":argo-"+r.stack, pargs[len(pargs)-1], "the SQL connection name reaches the proxy")
			}

			ports := map[float64]string{}
			for _, ct := range allContainers(t, dep, "spec.template.spec") {
				name := Str(ct, "name")
				for i := range Len(ct, "ports") {
					p := MustNum(t, ct, fmt.Sprintf("ports[%d].containerPort", i))
					if other, clash := ports[p]; clash {
						t.Errorf("%s: port %v used by %s and %s", dep.Name, p, other, name)
					}
					ports[p] = name
				}
				nonRoot := MustBool(t, ct, "securityContext.runAsNonRoot")
				ro := MustBool(t, ct, "securityContext.readOnlyRootFilesystem")
				esc, escSet := Bool(ct, "securityContext.allowPrivilegeEscalation")
				assert.True(t, nonRoot && ro && escSet && !esc, "%s/%s: hardened", dep.Name, name)
				assert.Equal(t, []string{"ALL"}, Strs(ct, "securityContext.capabilities.drop"))
				assert.NotEmpty(t, Str(ct, "resources.requests.cpu"), "%s/%s: requests set for Autopilot", dep.Name, name)
				assert.NotEmpty(t, Str(ct, "resources.requests.memory"))
			}
		}
	})
}

// TestDatabaseUserMatchesTheProxyLogin follows, per Deployment, the chain
// Cloud SQL checks: the pod's KSA -> its GSA annotation (whom the proxy logs
// in as) -> the Cloud SQL IAM user registered for that GSA, whose name must
// be the user name in the Secret that the Deployment's own ConfigMap points
// at.
func TestDatabaseUserMatchesTheProxyLogin(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		for _, name := range []string{"workflow-controller", "argo-server"} {
			dep := kube(t, r.rec, "kubernetes:apps/v1:Deployment", name)
			ksa := Str(dep.Inputs, "spec.template.spec.serviceAccountName")
			gsa := annotation(t, kube(t, r.rec, "kubernetes:core/v1:ServiceAccount", ksa), "iam.gke.io/gcp-service-account")
			require.NotEmpty(t, gsa)

			args := Strs(container(t, dep, "spec.template.spec.containers[0]"), "args")
			cm := kube(t, r.rec, "kubernetes:core/v1:ConfigMap", flagValue(args, "--configmap"))
			var persistence struct {
				PostgreSQL struct {
					UserNameSecret struct{ Name string } `yaml:"userNameSecret"`
				} `yaml:"postgresql"`
			}
			require.NoError(t, yaml.Unmarshal([]byte(Str(cm.Inputs, "data.persistence")), &persistence))
			secret := kube(t, r.rec, "kubernetes:core/v1:Secret", persistence.PostgreSQL.UserNameSecret.Name)
			user := Str(secret.Inputs, "stringData.username")
			// Cloud SQL names a service account's IAM user by its e-mail
			// without ".gserviceaccount.com".
			assert.Equal(t, strings.TrimSuffix(gsa, ".gserviceaccount.com"), user, "%s presents the IAM user of the GSA its proxy logs in as", name)
			var registered []string
			for _, u := range r.rec.OfType("gcp:sql/user:User") {
				if Str(u.Inputs, "type") == "CLOUD_IAM_SERVICE_ACCOUNT" {
					registered = append(registered, Str(u.Inputs, "name"))
				}
			}
			assert.Contains(t, registered, user, "%s's user exists in Cloud SQL", name)
		}
	})
}

func TestServiceAccountsCarryTheirGSA(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		p, env := r.cfg.Project, r.stack
		want := map[string]string{
			"argo-workflow-controller": "argo-ctrl-" + env + "@" + p + ".iam.gserviceaccount.com",
			"argo-server":              "argo-server-" + env + "@" + p + ".iam.gserviceaccount.com",
			"argo-workflow":            "argo-wf-" + env + "@" + p + ".iam.gserviceaccount.com",
		}
		for ksa, gsa := range want {
			sa := kube(t, r.rec, "kubernetes:core/v1:ServiceAccount", ksa)
			assert.Equal(t, gsa, annotation(t, sa, "iam.gke.io/gcp-service-account"))
		}
	})
}

// annotation returns one metadata annotation (its key holds dots, so Prop
// cannot name it).
func annotation(t *testing.T, res *Registered, key string) string {
	t.Helper()
	ann := Prop(res.Inputs, "metadata.annotations")
	require.True(t, ann.IsObject(), "%s has no known annotations", res.Name)
	return unwrap(ann.ObjectValue()[resource.PropertyKey(key)]).StringValue()
}

func rulesOf(t *testing.T, role *Registered) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for i := range Len(role.Inputs, "rules") {
		p := fmt.Sprintf("rules[%d]", i)
		for _, res := range Strs(role.Inputs, p+".resources") {
			out[res] = append(out[res], Strs(role.Inputs, p+".verbs")...)
		}
	}
	return out
}

func TestEachAccountMayDoOnlyWhatItsComponentNeeds(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		const roleType = "kubernetes:rbac.authorization.k8s.io/v1:Role"
		home, wfNS := r.cfg.Argo.Namespace, r.cfg.Argo.WorkflowNamespace
		role := func(ns, name string) *Registered { return kubeIn(t, r.rec, roleType, ns, name) }

		// The controller acts on workflows in the workflow namespace.
		ctrl := rulesOf(t, role(wfNS, "argo-controller"))
		for _, v := range []string{"patch", "update", "create", "delete", "watch"} {
			assert.Contains(t, ctrl["pods"], v, "seed trap 3: the controller needs pods %s", v)
		}
		for _, v := range []string{"list", "watch", "deletecollection"} {
			assert.Contains(t, ctrl["workflowtaskresults"], v)
		}
		assert.NotContains(t, ctrl, "secrets", "no Secret of the workflow namespace is the controller's business")
		// At home it reads its ConfigMap and its own database Secret, and
		// runs no pods.
		ctrlHome := role(home, "argo-controller")
		homeRules := rulesOf(t, ctrlHome)
		assert.Contains(t, homeRules["leases"], "update")
		assert.NotContains(t, homeRules, "pods", "nothing runs pods in Argo's home namespace")
		assert.NotContains(t, homeRules, "workflows")

		// The server's own account takes, in each workflow namespace, the
		// tokens of the sign-in accounts by name and nothing else: a person
		// acts as the account their sign-in picks (TestEveryPersonActsAsTheirOwnRights).
		srvRules := rulesOf(t, role(wfNS, "argo-server"))
		srvRole := role(wfNS, "argo-server")
		assert.Equal(t, map[string][]string{"secrets": {"get"}}, srvRules)
		assert.Equal(t, []string{"argo-sso-runner.service-account-token", "argo-sso-editor.service-account-token"}, Strs(srvRole.Inputs, "rules[0].resourceNames"))
		srvHome := role(home, "argo-server")
		assert.NotContains(t, rulesOf(t, srvHome), "pods")
		homeSecrets := Strs(srvHome.Inputs, "rules[1].resourceNames")
		require.GreaterOrEqual(t, len(homeSecrets), 4)
		assert.Equal(t, []string{"argo-postgres-argo-server", "argo-sso-client", "sso", "argo-sso-viewer.service-account-token"}, homeSecrets[:4],
			"its database Secret, the OAuth client's, its session key and the viewers' token; never the bootstrap admin's")
		for _, name := range homeSecrets[4:] {
			assert.Regexp(t, `^argo-sso-editor-[0-9a-f]{8}\.service-account-token$`, name, "else only the editors' accounts' tokens at home")
		}
		assert.Equal(t, []string{"create"}, Strs(srvHome.Inputs, "rules[2].verbs"), "it makes its session key's Secret at its first start")
		assert.Equal(t, 3, Len(srvHome.Inputs, "rules"))
		for _, c := range []struct {
			role   *Registered
			secret string
		}{{ctrlHome, "argo-postgres-workflow-controller"}} {
			n := 0
			for i := range Len(c.role.Inputs, "rules") {
				if slices.Contains(Strs(c.role.Inputs, fmt.Sprintf("rules[%d].resources", i)), "secrets") {
					n++
					assert.Equal(t, []string{c.secret}, Strs(c.role.Inputs, fmt.Sprintf("rules[%d].resourceNames", i)),
						"each reads its own database Secret only, never the bootstrap admin's")
					assert.Equal(t, []string{"get"}, Strs(c.role.Inputs, fmt.Sprintf("rules[%d].verbs", i)))
				}
			}
			assert.Equal(t, 1, n, "one Secret rule")
		}

		exec := rulesOf(t, role(wfNS, "argo-executor"))
		assert.Equal(t, map[string][]string{"workflowtaskresults": {"create", "patch"}}, exec, "Argo's executor: report results, nothing else")

		for _, rl := range r.rec.OfType(roleType) {
			for res, verbs := range rulesOf(t, rl) {
				assert.NotContains(t, verbs, "*")
				assert.NotEqual(t, "namespaces", res)
			}
		}
		// Every binding's subject is the account in the namespace it lives
		// in: the platform's at home, each namespace's executor in its own;
		// one workflow namespace per account (the identities' are
		// <workflow namespace>-<name>), each with the same three Roles.
		spaces := []string{wfNS}
		for _, wi := range r.cfg.Identities {
			spaces = append(spaces, wfNS+"-"+wi.Name)
		}
		bindings := map[string]string{}
		homeEditors := regexp.MustCompile(`^argo-sso-editor-[0-9a-f]{8}$`)
		for _, b := range r.rec.OfType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding") {
			require.Equal(t, 1, Len(b.Inputs, "subjects"), "one account per binding")
			if sub := Str(b.Inputs, "subjects[0].name"); homeEditors.MatchString(sub) {
				// The editors' accounts at home (TestEveryPersonActsAsTheirOwnRights).
				assert.Equal(t, home, Str(b.Inputs, "subjects[0].namespace"))
				assert.Equal(t, sub, Str(b.Inputs, "roleRef.name"))
				continue
			}
			bindings[Str(b.Inputs, "metadata.namespace")+": "+Str(b.Inputs, "subjects[0].namespace")+"/"+Str(b.Inputs, "subjects[0].name")] = Str(b.Inputs, "roleRef.name")
		}
		want := map[string]string{
			home + ": " + home + "/argo-workflow-controller": "argo-controller",
			home + ": " + home + "/argo-server":              "argo-server",
		}
		for _, ns := range spaces {
			want[ns+": "+home+"/argo-workflow-controller"] = "argo-controller"
			want[ns+": "+home+"/argo-server"] = "argo-server"
			want[ns+": "+ns+"/argo-executor"] = "argo-executor"
			// The sign-in accounts a person's requests act as: the
			// viewers' (home) looks everywhere, each namespace's runners'
			// and editors' act there.
			want[ns+": "+home+"/argo-sso-viewer"] = "argo-sso-viewer"
			want[ns+": "+ns+"/argo-sso-runner"] = "argo-sso-runner"
			want[ns+": "+ns+"/argo-sso-editor"] = "argo-sso-editor"
			assert.Equal(t, ctrl, rulesOf(t, role(ns, "argo-controller")), "%s: the controller's rights are the same in every workflow namespace", ns)
			assert.Equal(t, srvRules, rulesOf(t, role(ns, "argo-server")), ns)
			assert.Equal(t, exec, rulesOf(t, role(ns, "argo-executor")), ns)
		}
		assert.Equal(t, want, bindings, "the workflow accounts, whose tokens the steps' own code holds, are bound to no Role")

		// The only cluster-wide rights are reads, the controller's and the
		// server's: Argo watches one namespace or all, and workflows run
		// in several. Nobody else, and nothing written.
		clusterRoles := map[string]map[string][]string{}
		for _, cr := range r.rec.OfType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") {
			clusterRoles[Str(cr.Inputs, "metadata.name")] = rulesOf(t, cr)
		}
		read := []string{"get", "list", "watch"}
		assert.Equal(t, map[string]map[string][]string{
			"argo-controller-" + home: {
				"namespaces": read, "pods": read, "configmaps": read, "serviceaccounts": read,
				"workflows": read, "workflowtemplates": read, "cronworkflows": read, "workflowtaskresults": read,
				"workflowtasksets": read, "workflowartifactgctasks": read, "clusterworkflowtemplates": read,
			},
			"argo-server-" + home: {"workflows": read, "workflowtemplates": read, "clusterworkflowtemplates": read, "serviceaccounts": read},
		}, clusterRoles)
		clusterBindings := map[string]string{}
		for _, b := range r.rec.OfType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding") {
			require.Equal(t, 1, Len(b.Inputs, "subjects"))
			assert.Equal(t, "ClusterRole", Str(b.Inputs, "roleRef.kind"))
			clusterBindings[Str(b.Inputs, "roleRef.name")] = Str(b.Inputs, "subjects[0].namespace") + "/" + Str(b.Inputs, "subjects[0].name")
		}
		assert.Equal(t, map[string]string{
			"argo-controller-" + home: home + "/argo-workflow-controller",
			"argo-server-" + home:     home + "/argo-server",
		}, clusterBindings)
	})
}

func TestArgosCustomResourcesAreInstalled(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		var names []string
		for _, c := range r.rec.OfType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") {
			names = append(names, Str(c.Inputs, "metadata.name"))
			assert.Equal(t, "argoproj.io", Str(c.Inputs, "spec.group"))
		}
		assert.ElementsMatch(t, []string{
			"workflows.argoproj.io", "workflowtemplates.argoproj.io", "cronworkflows.argoproj.io",
			"clusterworkflowtemplates.argoproj.io", "workfloweventbindings.argoproj.io",
			"workflowtasksets.argoproj.io", "workflowtaskresults.argoproj.io", "workflowartifactgctasks.argoproj.io",
		}, names)
	})
}

func TestIngressBehindIAP(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings
		ing := kube(t, r.rec, "kubernetes:networking.k8s.io/v1:Ingress", "argo-server")
		assert.Equal(t, "argo-"+r.stack, annotation(t, ing, "kubernetes.io/ingress.global-static-ip-name"), "the static IP name reaches the Ingress")
		assert.Equal(t, "argo-server", annotation(t, ing, "networking.gke.io/managed-certificates"))
		assert.Equal(t, "argo-server", annotation(t, ing, "networking.gke.io/v1beta1.FrontendConfig"))
		assert.Equal(t, s.Domain, Str(ing.Inputs, "spec.rules[0].host"))
		assert.Equal(t, "argo-server", Str(ing.Inputs, "spec.rules[0].http.paths[0].backend.service.name"))

		svc := kube(t, r.rec, "kubernetes:core/v1:Service", "argo-server")
		assert.JSONEq(t, `{"ingress":true}`, annotation(t, svc, "cloud.google.com/neg"))
		assert.JSONEq(t, `{"default":"argo-server"}`, annotation(t, svc, "cloud.google.com/backend-config"))
		assert.Equal(t, "web", Str(svc.Inputs, "spec.ports[0].name"))

		bc := kube(t, r.rec, "kubernetes:cloud.google.com/v1:BackendConfig", "argo-server")
		iap := MustBool(t, bc.Inputs, "spec.iap.enabled")
		assert.True(t, iap)
		assert.True(t, Prop(bc.Inputs, "spec.iap.oauthclientCredentials").IsNull(), "Google-managed OAuth client")
		assert.Equal(t, "HTTP", Str(bc.Inputs, "spec.healthCheck.type"))
		assert.Equal(t, "/", Str(bc.Inputs, "spec.healthCheck.requestPath"))
		hp := MustNum(t, bc.Inputs, "spec.healthCheck.port")
		assert.Equal(t, 2746.0, hp)
		timeout := MustNum(t, bc.Inputs, "spec.timeoutSec")
		assert.GreaterOrEqual(t, timeout, 600.0, "UI streams outlive the 30 s default")
		// argo-server's session cookie is not Secure (it serves HTTP): the
		// browser must never try http:// once signed in.
		assert.Equal(t, []string{"Strict-Transport-Security: max-age=31536000"}, Strs(bc.Inputs, "spec.customResponseHeaders.headers"))

		fc := kube(t, r.rec, "kubernetes:networking.gke.io/v1beta1:FrontendConfig", "argo-server")
		redirect := MustBool(t, fc.Inputs, "spec.redirectToHttps.enabled")
		assert.True(t, redirect)
		mc := kube(t, r.rec, "kubernetes:networking.gke.io/v1:ManagedCertificate", "argo-server")
		assert.Equal(t, []string{s.Domain}, Strs(mc.Inputs, "spec.domains"))
	})
}

func TestOnlyTheLoadBalancerAndManagedPrometheusReachArgosPods(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		for _, ns := range []string{r.cfg.Argo.Namespace, r.cfg.Argo.WorkflowNamespace} {
			deny := kubeIn(t, r.rec, "kubernetes:networking.k8s.io/v1:NetworkPolicy", ns, "default-deny-ingress")
			assert.Equal(t, []string{"Ingress"}, Strs(deny.Inputs, "spec.policyTypes"))
			assert.Zero(t, Len(deny.Inputs, "spec.podSelector.matchLabels"), "every pod of %s", ns)
			assert.Zero(t, Len(deny.Inputs, "spec.ingress"), "nothing is open by default in %s", ns)
		}
		for _, np := range r.rec.OfType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			if Str(np.Inputs, "metadata.namespace") == r.cfg.Argo.WorkflowNamespace && slices.Contains(Strs(np.Inputs, "spec.policyTypes"), "Ingress") {
				assert.Equal(t, "default-deny-ingress", Str(np.Inputs, "metadata.name"), "workflow pods serve nothing: only the deny policy applies to them")
			}
		}

		lb := kube(t, r.rec, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "argo-server-from-load-balancer")
		var cidrs []string
		for i := range Len(lb.Inputs, "spec.ingress[0].from") {
			cidrs = append(cidrs, Str(lb.Inputs, fmt.Sprintf("spec.ingress[0].from[%d].ipBlock.cidr", i)))
		}
		assert.ElementsMatch(t, []string{"130.211.0.0/22", "35.191.0.0/16"}, cidrs)
		port := MustNum(t, lb.Inputs, "spec.ingress[0].ports[0].port")
		assert.Equal(t, 2746.0, port)

		prom := kube(t, r.rec, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "controller-metrics-from-prometheus")
		sel := "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0]"
		assert.Equal(t, "In", Str(prom.Inputs, sel+".operator"))
		assert.Contains(t, Strs(prom.Inputs, sel+".values"), "gke-gmp-system", "Autopilot's managed collectors")
		mport := MustNum(t, prom.Inputs, "spec.ingress[0].ports[0].port")
		assert.Equal(t, 9090.0, mport)
	})
}

func TestKubernetesObjectsUseTheClusterProviderAndWaitForGrants(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cluster := one(t, r.rec, "gcp:container/cluster:Cluster", "argo-"+r.stack)
		job := kube(t, r.rec, "kubernetes:batch/v1:Job", "argo-db-bootstrap")
		var grants []string
		for _, typ := range []string{"gcp:serviceaccount/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:sql/user:User", "gcp:projects/iAMMember:IAMMember"} {
			for _, g := range r.rec.OfType(typ) {
				if strings.Contains(g.URN, "gcp:Cluster$") {
					continue // the nodes' own grants: the cluster waits for them
				}
				grants = append(grants, g.URN)
			}
		}
		require.NotEmpty(t, grants)
		for _, res := range r.rec.Resources() {
			if !strings.HasPrefix(res.Type, "kubernetes:") {
				continue
			}
			assert.Contains(t, res.Provider, "pulumi:providers:kubernetes::argo-"+r.stack, "%s uses the cluster's provider", res.Name)
			if !OwnDeletion[res.Type] {
				assert.Equal(t, cluster.URN, res.DeletedWith, "%s is deleted with the cluster", res.Name)
			}
		}
		admin := kube(t, r.rec, "kubernetes:core/v1:Secret", "argo-db-admin")
		assert.Contains(t, job.DependsOn, admin.URN, "the grant Job waits for the Secret it reads")
		crds := r.rec.OfType("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
		require.Len(t, crds, 8)
		controller := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "workflow-controller")
		serverGrant := kube(t, r.rec, "kubernetes:batch/v1:Job", "argo-db-grant-server")
		assert.Contains(t, serverGrant.DependsOn, controller.URN, "the server's grants wait for the controller's tables")
		assert.Contains(t, kube(t, r.rec, "kubernetes:apps/v1:Deployment", "argo-server").DependsOn, serverGrant.URN,
			"the server starts once its user has its tables")
		for _, name := range []string{"workflow-controller", "argo-server"} {
			dep := kube(t, r.rec, "kubernetes:apps/v1:Deployment", name)
			after := waitsFor(r.rec, dep)
			assert.True(t, after[job.URN], "%s starts after the database grants", name)
			for _, crd := range crds {
				assert.True(t, after[crd.URN], "%s starts after Argo's CRDs", name)
			}
			for _, g := range grants {
				assert.True(t, after[g], "%s waits for %s", name, g)
			}
		}
	})
}

// waitsFor is everything the engine creates before res: its dependencies,
// through options and through data, and theirs.
func waitsFor(rec *Recorder, res *Registered) map[string]bool {
	seen := map[string]bool{}
	todo := slices.Clone(res.DependsOn)
	for len(todo) > 0 {
		u := todo[0]
		todo = todo[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		if d := rec.ByURN(u); d != nil {
			todo = append(todo, d.DependsOn...)
		}
	}
	return seen
}

func TestControllerMetricsAreScraped(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		pm := kube(t, r.rec, "kubernetes:monitoring.googleapis.com/v1:PodMonitoring", "workflow-controller")
		labels := Prop(pm.Inputs, "spec.selector.matchLabels")
		require.True(t, labels.IsObject())
		assert.Equal(t, "workflow-controller", labels.ObjectValue()["app.kubernetes.io/name"].StringValue())
		assert.Equal(t, "metrics", Str(pm.Inputs, "spec.endpoints[0].port"), "the controller's named metrics port")
		assert.Equal(t, "/metrics", Str(pm.Inputs, "spec.endpoints[0].path"))
	})
}

func TestDNSRecordWhenAZoneIsSet(t *testing.T) {
	cfg := edit(t, func(s map[string]any) { Section(s, "dns")["managedZone"] = "example-com" })
	rec, err := Run(infra.Deploy, "staging", cfg, false)
	require.NoError(t, err)
	rs := one(t, rec, "gcp:dns/recordSet:RecordSet", "edge-dns")
	assert.Equal(t, "argo.staging.acme-data.dev.", Str(rs.Inputs, "name"), "the stack's domain, as a DNS name")
	assert.Equal(t, "A", Str(rs.Inputs, "type"))
	assert.Equal(t, "example-com", Str(rs.Inputs, "managedZone"))
	assert.Equal(t, []string{StaticIP}, Strs(rs.Inputs, "rrdatas"), "points at the static IP")
	var apis []string
	for _, svc := range rec.OfType("gcp:projects/service:Service") {
		apis = append(apis, Str(svc.Inputs, "service"))
	}
	assert.Contains(t, apis, "dns.googleapis.com")

	plain, err := StackConfig("staging")
	require.NoError(t, err)
	rec, err = Run(infra.Deploy, "staging", plain, false)
	require.NoError(t, err)
	assert.Nil(t, rec.Named("gcp:dns/recordSet:RecordSet", "edge-dns"), "no zone, no record")
}

// TestAPreviewReplacingTheBucketAndDatabaseShowsEveryArgoSetting: when a
// pull request's preview replaces the log bucket and Argo's database (their
// names unknown until the update), every ConfigMap entry but the two that
// carry those names is shown as the update will write it, so the reviewer
// sees each Argo setting.
func TestAPreviewReplacingTheBucketAndDatabaseShowsEveryArgoSetting(t *testing.T) {
	config, err := StackConfig(stacks.Staging)
	require.NoError(t, err)
	update, err := Run(infra.Deploy, stacks.Staging, config, false)
	require.NoError(t, err)
	preview, err := RunReplacing(infra.Deploy, stacks.Staging, config, true,
		[]string{"gcp:storage/bucket:Bucket", "gcp:sql/database:Database"})
	require.NoError(t, err)
	entries := func(rec *Recorder, name string) map[string]string {
		data := Prop(kube(t, rec, "kubernetes:core/v1:ConfigMap", name).Inputs, "data")
		require.True(t, data.IsObject(), "%s: the data is a map of entries, not one unknown value", name)
		out := map[string]string{}
		for k, v := range data.ObjectValue() {
			// Under mocks an unknown entry is left out (or null).
			if v.IsString() {
				out[string(k)] = v.StringValue()
			}
		}
		return out
	}
	for _, name := range []string{"workflow-controller-configmap", "argo-server-configmap"} {
		all, shown := entries(update, name), entries(preview, name)
		var unknown []string
		for k, v := range all {
			got, ok := shown[k]
			if !ok {
				unknown = append(unknown, k)
				continue
			}
			assert.Equal(t, v, got, "%s: the preview shows %s as the update writes it", name, k)
		}
		slices.Sort(unknown)
		assert.Equal(t, []string{"artifactRepository", "persistence"}, unknown, "%s: only the entries carrying the bucket's and the database's names are unknown", name)
		assert.Contains(t, shown, "parallelism")
	}
}

// secretRefs lists every Secret a pod template names, as "<container>: <secret>"
// (volumes as "volume: <secret>").
func secretRefs(props resource.PropertyMap, spec string) []string {
	var out []string
	for _, list := range []string{"initContainers", "containers"} {
		for i := range Len(props, spec+"."+list) {
			c := fmt.Sprintf("%s.%s[%d]", spec, list, i)
			for j := range Len(props, c+".env") {
				if name := Str(props, fmt.Sprintf("%s.env[%d].valueFrom.secretKeyRef.name", c, j)); name != "" {
					out = append(out, Str(props, c+".name")+": "+name)
				}
			}
			for j := range Len(props, c+".envFrom") {
				if name := Str(props, fmt.Sprintf("%s.envFrom[%d].secretRef.name", c, j)); name != "" {
					out = append(out, Str(props, c+".name")+": "+name)
				}
			}
		}
	}
	for i := range Len(props, spec+".volumes") {
		if name := Str(props, fmt.Sprintf("%s.volumes[%d].secret.secretName", spec, i)); name != "" {
			out = append(out, "volume: "+name)
		}
	}
	return out
}

// The database admin's password reaches exactly one process: the schema
// grant Job's psql. No other container of any Job or Deployment, and no
// proxy beside it, is given it.
func TestTheAdminPasswordReachesOnlyTheSchemaGrant(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		refs := map[string][]string{}
		for _, typ := range []string{"kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment"} {
			for _, w := range r.rec.OfType(typ) {
				if got := secretRefs(w.Inputs, "spec.template.spec"); len(got) > 0 {
					refs[Str(w.Inputs, "metadata.name")] = got
				}
			}
		}
		assert.Equal(t, map[string][]string{"argo-db-bootstrap": {"grant: argo-db-admin"}}, refs)
		job := kube(t, r.rec, "kubernetes:batch/v1:Job", "argo-db-bootstrap")
		// The scripts themselves run on PostgreSQL in the e2e
		// (TestGrantScriptsOnRealPostgres); here, that each Job runs its
		// own, stated literally.
		assert.Equal(t, []string{"/bin/sh", "-c"}, Strs(job.Inputs, "spec.template.spec.containers[0].command")[:2])
		schema := Str(job.Inputs, "spec.template.spec.containers[0].command[2]")
		assert.Contains(t, schema, `GRANT USAGE, CREATE ON SCHEMA public TO :"ctrl";`, "the container with the password runs the schema grants")
		assert.NotContains(t, schema, "argo_archived_workflows", "and nothing on Argo's tables")
		assert.Equal(t, 1, Len(job.Inputs, "spec.template.spec.containers"))
		for i := range Len(job.Inputs, "spec.template.spec.initContainers") {
			assert.Equal(t, "Always", Str(job.Inputs, fmt.Sprintf("spec.template.spec.initContainers[%d].restartPolicy", i)),
				"beside it only the proxy sidecar runs")
		}
		grant := kube(t, r.rec, "kubernetes:batch/v1:Job", "argo-db-grant-server")
		server := Str(grant.Inputs, "spec.template.spec.containers[0].command[2]")
		for _, want := range []string{
			`LOCK TABLE schema_history IN EXCLUSIVE MODE;`,
			`GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"srv";`,
			`GRANT DELETE ON argo_archived_workflows TO :"srv";`,
			`GRANT INSERT ON argo_workflows TO :"srv";`,
		} {
			assert.Contains(t, server, want)
		}
		assert.NotContains(t, server, "PGPASSWORD", "the server grants log in as the controller's IAM user, with no password")
	})
}

// The workflow namespaces' admission policy: bound to those namespaces
// only, enforced (Deny, and an expression that fails refuses), for pods and
// ephemeral containers, allowing each namespace's one account and the Secrets
// of argo.workflowSecrets. e2e (TestStacks: admission policy) proves what
// the real API server does with it.
func TestWorkflowPodsAreHeldByAnAdmissionPolicy(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		wfNS := r.cfg.Argo.WorkflowNamespace
		policy := one(t, r.rec, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", "argo-admission-policy")
		binding := one(t, r.rec, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding", "argo-admission-policy-binding")
		assert.Equal(t, "argo-workflow-pods-"+wfNS, Str(policy.Inputs, "metadata.name"))
		assert.Equal(t, "Fail", Str(policy.Inputs, "spec.failurePolicy"))
		assert.ElementsMatch(t, []string{"pods", "pods/ephemeralcontainers"}, Strs(policy.Inputs, "spec.matchConstraints.resourceRules[0].resources"))
		assert.ElementsMatch(t, []string{"CREATE", "UPDATE"}, Strs(policy.Inputs, "spec.matchConstraints.resourceRules[0].operations"))
		vars := map[string]string{}
		for i := range Len(policy.Inputs, "spec.variables") {
			vars[Str(policy.Inputs, fmt.Sprintf("spec.variables[%d].name", i))] = Str(policy.Inputs, fmt.Sprintf("spec.variables[%d].expression", i))
		}
		// Each workflow namespace admits its one account: the workflow
		// account in the workflow namespace, each identity in its own.
		accounts := []string{strconv.Quote(wfNS) + ": " + strconv.Quote("argo-workflow")}
		spaces := []string{wfNS}
		for _, wi := range r.cfg.Identities {
			accounts = append(accounts, strconv.Quote(wfNS+"-"+wi.Name)+": "+strconv.Quote(wi.Name))
			spaces = append(spaces, wfNS+"-"+wi.Name)
		}
		assert.Equal(t, "{"+strings.Join(accounts, ", ")+"}", vars["accounts"], "the workflow account and the stack's workflow identities, each in its namespace, no other")
		assert.Equal(t, "has(object.spec.serviceAccountName) && object.spec.serviceAccountName == variables.accounts[request.namespace]",
			Str(policy.Inputs, "spec.validations[0].expression"), "a pod runs as its namespace's account")
		var secrets []string
		for _, s := range r.cfg.Argo.WorkflowSecrets {
			secrets = append(secrets, strconv.Quote(s))
		}
		assert.Equal(t, "["+strings.Join(secrets, ", ")+"]", vars["secrets"], "the stack's argo.workflowSecrets")
		assert.Equal(t, "argo-workflow-pods-"+wfNS, Str(binding.Inputs, "spec.policyName"))
		assert.Equal(t, []string{"Deny"}, Strs(binding.Inputs, "spec.validationActions"))
		sel := "spec.matchResources.namespaceSelector"
		assert.Equal(t, 1, Len(binding.Inputs, sel+".matchExpressions"), "one requirement")
		assert.Equal(t, "kubernetes.io/metadata.name", Str(binding.Inputs, sel+".matchExpressions[0].key"), "namespaces by the name Kubernetes labels them with")
		assert.Equal(t, "In", Str(binding.Inputs, sel+".matchExpressions[0].operator"))
		assert.Equal(t, spaces, Strs(binding.Inputs, sel+".matchExpressions[0].values"), "the workflow namespaces only")
		assert.False(t, Prop(binding.Inputs, sel+".matchLabels").IsObject(), "no other selector")
		controller := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "workflow-controller")
		assert.Contains(t, controller.DependsOn, binding.URN, "no step pod is created before the policy holds")
	})
}

// The grant Jobs hand their scripts every value the scripts read: each
// $VARIABLE a script uses is set in its container, the ports are the ones
// its Auth Proxy sidecars listen on, and the users are the Cloud SQL users
// the database has (the e2e runs the scripts themselves on PostgreSQL).
func TestTheGrantJobsGiveTheirScriptsEveryValueTheyRead(t *testing.T) {
	// The same wiring in preview, where the users' names are not known yet.
	forEachUpdate(t, func(t *testing.T, r *run) {
		users := map[string]string{}
		for _, u := range r.rec.OfType("gcp:sql/user:User") {
			users[strings.TrimPrefix(u.Name, "argo-"+r.stack+"-")] = Str(u.Inputs, "name")
		}
		for _, name := range []string{"argo-db-bootstrap", "argo-db-grant-server"} {
			job := kube(t, r.rec, "kubernetes:batch/v1:Job", name)
			c := container(t, job, "spec.template.spec.containers[0]")
			script := Strs(c, "command")[2]
			env := envOf(c)
			for _, v := range regexp.MustCompile(`\$\{?([A-Z_]+)`).FindAllStringSubmatch(script, -1) {
				_, set := env[v[1]]
				if v[1] == "PGPASSWORD" {
					continue // from the admin Secret, checked above
				}
				assert.True(t, set, "%s: the script reads $%s, which the Job does not set", name, v[1])
			}
			ports := map[string]bool{}
			for i := range Len(job.Inputs, "spec.template.spec.initContainers") {
				args := Strs(container(t, job, fmt.Sprintf("spec.template.spec.initContainers[%d]", i)), "args")
				ports[flagValue(args, "--port")] = true
			}
			for _, p := range []string{"ADMIN_PORT", "IAM_PORT"} {
				if v, ok := env[p]; ok {
					assert.True(t, ports[v], "%s: %s=%s is where one of its proxies listens", name, p, v)
				}
			}
			assert.Equal(t, users["controller"], env["CONTROLLER_USER"], name)
			assert.Equal(t, users["server"], env["SERVER_USER"], name)
			if _, ok := env["ADMIN_USER"]; ok {
				assert.Equal(t, users["argo-admin"], env["ADMIN_USER"], name)
			}
			assert.Equal(t, "argo", env["DATABASE"], name)
		}
	})
}

// What the controller's ConfigMap makes it put in every step's pod (the
// executor's account and its token Secret) exists, and the admission policy
// that admits such pods is in force, before either ConfigMap changes: an
// `up` that changes both never leaves the controller creating pods the API
// server refuses or that name a missing account.
func TestTheConfigMapsWaitForWhatTheyMakeStepPodsUse(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		wfNS := r.cfg.Argo.WorkflowNamespace
		needs := []*Registered{
			kubeIn(t, r.rec, "kubernetes:core/v1:ServiceAccount", wfNS, "argo-executor"),
			kubeIn(t, r.rec, "kubernetes:core/v1:Secret", wfNS, "argo-executor.service-account-token"),
			one(t, r.rec, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", "argo-admission-policy"),
			one(t, r.rec, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding", "argo-admission-policy-binding"),
		}
		for _, name := range []string{"workflow-controller-configmap", "argo-server-configmap"} {
			cm := kubeIn(t, r.rec, "kubernetes:core/v1:ConfigMap", r.cfg.Argo.Namespace, name)
			for _, n := range needs {
				assert.Contains(t, cm.DependsOn, n.URN, "%s waits for %s", name, n.Name)
			}
		}
		token := kubeIn(t, r.rec, "kubernetes:core/v1:Secret", wfNS, "argo-executor.service-account-token")
		assert.Equal(t, "kubernetes.io/service-account-token", Str(token.Inputs, "type"))
		assert.Equal(t, "argo-executor", annotation(t, token, "kubernetes.io/service-account.name"))
	})
}

// Every person acts as their own rights: argo-server signs in with the
// stack's OAuth client, with RBAC delegated to each namespace, and the
// sign-in accounts' rules name exactly the people and domains of the
// stack's access lists: the viewers' account (home) everyone who may look,
// run or edit; each workflow namespace's runners' account its runners;
// its editors' account the editors who may run there. The e2e ("who may do
// what") signs people in to the real server against these rules.
func TestEveryPersonActsAsTheirOwnRights(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		s := r.cfg.Settings
		home, wfNS := s.Argo.Namespace, s.Argo.WorkflowNamespace
		srv := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "argo-server")
		c := container(t, srv, "spec.template.spec.containers[0]")
		assert.Contains(t, Strs(c, "args"), "--auth-mode=sso", "no other mode: no request without a sign-in")
		assert.Equal(t, "true", envOf(c)["SSO_DELEGATE_RBAC_TO_NAMESPACE"])
		assert.Equal(t, "false", envOf(c)["ARGO_ARTIFACT_SERVER"], "the server fetches no artifact from where a workflow says, as itself")

		cm := kube(t, r.rec, "kubernetes:core/v1:ConfigMap", "argo-server-configmap")
		type key struct{ Name, Key string }
		var sso struct {
			Issuer       string `yaml:"issuer"`
			RedirectURL  string `yaml:"redirectUrl"`
			ClientID     key    `yaml:"clientId"`
			ClientSecret key    `yaml:"clientSecret"`
			RBAC         struct {
				Enabled bool `yaml:"enabled"`
			} `yaml:"rbac"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(Str(cm.Inputs, "data.sso")), &sso))
		assert.Equal(t, "https://accounts.google.com", sso.Issuer)
		assert.Equal(t, "https://"+s.Domain+"/oauth2/callback", sso.RedirectURL)
		assert.True(t, sso.RBAC.Enabled)
		assert.Equal(t, "argo-sso-client", sso.ClientID.Name)
		assert.Equal(t, "argo-sso-client", sso.ClientSecret.Name)
		assert.NotContains(t, Strs(kube(t, r.rec, "kubernetes:core/v1:ConfigMap", "workflow-controller-configmap").Inputs, "data"), "sso")
		if !r.dryRun {
			client := kubeIn(t, r.rec, "kubernetes:core/v1:Secret", home, "argo-sso-client")
			assert.Equal(t, TestSSOClientID, Str(client.Inputs, "stringData.client-id"))
			assert.True(t, IsSecret(client.Inputs, "stringData"), "the client secret stays a secret (the SDK marks the whole map)")
		}

		// The members a rule names, as written in the settings.
		quoted := regexp.MustCompile(`"([^"]*)"`)
		named := func(rule string) []string {
			var out []string
			for _, m := range quoted.FindAllStringSubmatch(rule, -1) {
				if strings.HasPrefix(m[1], "@") {
					out = append(out, "domain:"+m[1][1:])
				} else {
					out = append(out, "user:"+m[1])
				}
			}
			slices.Sort(out)
			return out
		}
		sorted := func(lists ...[]string) []string {
			var out []string
			for _, l := range lists {
				for _, m := range l {
					if !slices.Contains(out, m) {
						out = append(out, m)
					}
				}
			}
			slices.Sort(out)
			return out
		}
		account := func(ns, name string, precedence string) []string {
			t.Helper()
			sa := kubeIn(t, r.rec, "kubernetes:core/v1:ServiceAccount", ns, name)
			assert.Equal(t, precedence, annotation(t, sa, "workflows.argoproj.io/rbac-rule-precedence"), "%s/%s", ns, name)
			return named(annotation(t, sa, "workflows.argoproj.io/rbac-rule"))
		}
		viewers := s.Access.Viewers
		if viewers == nil {
			viewers = s.Viewers()
		}
		everyone := [][]string{viewers, s.Access.Runners, s.Access.Editors}
		runnersOf := map[string][]string{wfNS: s.Access.Runners}
		for _, wi := range s.Identities {
			everyone = append(everyone, wi.Runners)
			runnersOf[wfNS+"-"+wi.Name] = wi.Runners
		}
		assert.Equal(t, sorted(everyone...), account(home, "argo-sso-viewer", "1"), "everyone who may look, run or edit signs in")
		require.NotEmpty(t, account(home, "argo-sso-viewer", "1"))
		// The editors' accounts at home, one per set of namespaces its
		// editors run in: the account a request naming no namespace (an
		// archived workflow's delete, by uid) acts as; it deletes the
		// archive there, and only looks elsewhere.
		where := map[string][]string{}
		for _, e := range s.Access.Editors {
			for ns, runners := range runnersOf {
				if slices.Contains(runners, e) {
					where[e] = append(where[e], ns)
				}
			}
		}
		editorsAtHome := 0
		for _, sa := range r.rec.OfType("kubernetes:core/v1:ServiceAccount") {
			name := Str(sa.Inputs, "metadata.name")
			if !strings.HasPrefix(name, "argo-sso-editor-") || Str(sa.Inputs, "metadata.namespace") != home {
				continue
			}
			editorsAtHome++
			members := account(home, name, "2")
			require.NotEmpty(t, members)
			for ns := range runnersOf {
				rules := rulesOf(t, kubeIn(t, r.rec, "kubernetes:rbac.authorization.k8s.io/v1:Role", ns, name))
				for _, m := range members {
					assert.Equal(t, slices.Contains(where[m], ns), slices.Contains(rules["workflows"], "delete"), "%s deletes %s's archive only if %s runs there", name, ns, m)
				}
				assert.Contains(t, rules["workflows"], "list")
			}
		}
		if len(s.Access.Editors) > 0 {
			assert.Positive(t, editorsAtHome, "the editors' accounts at home")
		}
		for ns, runners := range runnersOf {
			var editors []string
			for _, e := range s.Access.Editors {
				if slices.Contains(runners, e) {
					editors = append(editors, e)
				}
			}
			assert.Equal(t, sorted(runners), account(ns, "argo-sso-runner", "2"), "%s: its runners", ns)
			assert.Equal(t, sorted(editors), account(ns, "argo-sso-editor", "3"), "%s: the editors who run there", ns)
		}
	})
}

// argo-server is sized for the archive the stack's settings allow
// (argo.archiveTTLDays × argo.archivedRunsPerDay): its memory request and
// limit (equal, as Autopilot makes them) and the Go runtime's soft limit
// inside it follow argoproj.ServerMemory, its CPU keeps within Autopilot's
// ratio of at most 6.5 GiB per vCPU, and production's covers the 216,000
// archived workflows make bench-archive measured. The e2e ("argo-server
// answers an unbounded list of the largest archive the settings allow")
// runs that list against the real server at staging's size.
func TestTheServerIsSizedForTheArchiveTheSettingsAllow(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		a := r.cfg.Settings.Argo
		srv := kube(t, r.rec, "kubernetes:apps/v1:Deployment", "argo-server")
		c := container(t, srv, "spec.template.spec.containers[0]")
		mem := a.ServerMemory()
		for _, kind := range []string{"requests", "limits"} {
			assert.Equal(t, fmt.Sprintf("%dMi", mem.LimitMiB), Str(c, "resources."+kind+".memory"), kind)
			assert.Equal(t, fmt.Sprintf("%dm", a.ServerCPU()), Str(c, "resources."+kind+".cpu"), kind)
		}
		assert.Equal(t, fmt.Sprintf("%dMiB", mem.GoMemLimitMiB), envOf(c)["GOMEMLIMIT"])
		assert.LessOrEqual(t, float64(mem.LimitMiB)/1024, 6.5*float64(a.ServerCPU())/1000, "Autopilot's CPU to memory ratio")
		if r.stack == stacks.Production {
			assert.GreaterOrEqual(t, a.ArchiveCapacity(), 216000, "production is sized for the archive make bench-archive measured")
		}
	})
}
