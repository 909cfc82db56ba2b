package argo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
)

// argo-server signs each person in with an OpenID Connect provider (Google
// on GCP) and, for each request, picks a Kubernetes ServiceAccount by the
// person's e-mail (Argo's SSO RBAC: the account of the request's namespace
// whose rule holds, else the viewers' account of Argo's home), and calls
// the API server with that account's token. So the API server enforces who
// may do what, and what a person submits carries their creator labels.
// The accounts here are those: their rules are the access lists, their
// Roles the rights of each list.

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// SignIn is argo-server's sign-in and who may do what.
type SignIn struct {
	// Issuer is the OpenID Connect issuer. Optional: GoogleIssuer.
	Issuer string
	// ClientID and ClientSecret are the OAuth client's (made by hand:
	// docs/bootstrap.md). Required.
	ClientID     string
	ClientSecret pulumi.StringInput
	// Viewers may look everywhere; Runners run as the workflow account;
	// Editors also change schedules and templates where they run (each
	// identity's runners are Identity.Runners). argoproj access members.
	Viewers, Runners, Editors []string
}

// Sign-in objects' names: Argo's own for the key Secret it makes itself.
const (
	// ssoClientSecret holds the OAuth client's id and secret.
	ssoClientSecret = "argo-sso-client"
	// ssoKeySecret is the Secret argo-server keeps its session key in; it
	// makes it at its first start (Argo's name, "sso").
	ssoKeySecret = "sso"
	// ViewerKSA, RunnerKSA and EditorKSA are the accounts a person's
	// requests act as: the viewers' in Argo's home, and in each workflow
	// namespace the runners' and the editors'.
	ViewerKSA = "argo-sso-viewer"
	RunnerKSA = "argo-sso-runner"
	EditorKSA = "argo-sso-editor"
	// rbacRule and rbacPrecedence are Argo's annotations: the rule on the
	// person's claims, and which account wins when several rules hold
	// (the namespace's over the home's, the editor's over the runner's).
	rbacRule        = "workflows.argoproj.io/rbac-rule"
	rbacPrecedence  = "workflows.argoproj.io/rbac-rule-precedence"
	signInComponent = "sign-in"
)

// LookRules are what a viewer's requests may do in each workflow namespace:
// read workflows, their pods' logs and events, schedules, templates and
// event bindings (the archive's list and get ask for workflows' list and
// get).
var LookRules = []Rule{
	{Groups: argo, Resources: []string{"workflows", "workflowtemplates", "cronworkflows", "workfloweventbindings"}, Verbs: []string{"get", "list", "watch"}},
	{Groups: core, Resources: []string{"pods", "pods/log", "events"}, Verbs: []string{"get", "list", "watch"}},
}

// RunRules are a runner's, in the namespaces they may run in: look, and
// submit (create, also from a template or a schedule), stop, suspend,
// resume, retry and resubmit workflows (update and patch; a retry deletes
// the failed nodes' pods).
var RunRules = append(slices.Clone(LookRules),
	Rule{Groups: argo, Resources: []string{"workflows"}, Verbs: []string{"create", "update", "patch"}},
	Rule{Groups: core, Resources: []string{"pods"}, Verbs: []string{"delete"}},
)

// EditRules are an editor's, where they may run: run, and create, change
// and delete CronWorkflows, WorkflowTemplates and event bindings, and
// delete workflows (the archive's delete asks for workflows' delete).
var EditRules = append(slices.Clone(RunRules),
	Rule{Groups: argo, Resources: []string{"workflows"}, Verbs: []string{"delete"}},
	Rule{Groups: argo, Resources: []string{"cronworkflows", "workflowtemplates", "workfloweventbindings"}, Verbs: []string{"create", "update", "patch", "delete"}},
)

// ArchiveRules are an editors' account's at home, in the namespaces they
// run in: look, and delete workflows, which deleting an archived workflow
// (by uid, so as the person's account at home) asks for.
var ArchiveRules = append(slices.Clone(LookRules),
	Rule{Groups: argo, Resources: []string{"workflows"}, Verbs: []string{"delete"}},
)

// ArchiveEditorKSA names the editors' account at home for the editors who
// run in namespaces: a short hash of the list, so it stays the same while
// the list does.
func ArchiveEditorKSA(namespaces []string) string {
	sum := sha256.Sum256([]byte(strings.Join(namespaces, ",")))
	return EditorKSA + "-" + hex.EncodeToString(sum[:])[:8]
}

// ssoAccount is one account a person's requests may act as.
type ssoAccount struct {
	ksa, ns    string
	rule       string
	precedence int
	// suffix tells its resources apart (the namespace's space suffix).
	suffix string
	// archive are the namespaces whose archived workflows it may delete
	// (an editors' account at home).
	archive []string
}

// ssoAccounts are the viewers' account at home and, in each workflow
// namespace, its runners' and its editors' (those editors who may run
// there).
func (b *builder) ssoAccounts() []ssoAccount {
	si := b.args.SignIn
	everyone := slices.Concat(si.Viewers, si.Runners, si.Editors)
	for _, wi := range b.args.Identities {
		everyone = append(everyone, wi.Runners...)
	}
	out := []ssoAccount{{ksa: ViewerKSA, ns: b.args.Namespace, rule: argoproj.Rule(unique(everyone)), precedence: 1}}
	// A request that names no namespace (deleting an archived workflow,
	// which names it by uid) acts as the person's account at home: each
	// set of namespaces some editors run in gets one there, which may also
	// delete the archive of those namespaces.
	bySet := map[string][]string{}
	var sets []string
	for _, e := range unique(si.Editors) {
		var where []string
		for _, sp := range b.spaces() {
			if slices.Contains(sp.runners, e) {
				where = append(where, sp.ns)
			}
		}
		if len(where) == 0 {
			continue
		}
		key := strings.Join(where, ",")
		if _, ok := bySet[key]; !ok {
			sets = append(sets, key)
		}
		bySet[key] = append(bySet[key], e)
	}
	for _, key := range sets {
		out = append(out, ssoAccount{
			ksa: ArchiveEditorKSA(strings.Split(key, ",")), ns: b.args.Namespace,
			rule: argoproj.Rule(bySet[key]), precedence: 2, archive: strings.Split(key, ","),
		})
	}
	for _, sp := range b.spaces() {
		var editors []string
		for _, e := range si.Editors {
			if slices.Contains(sp.runners, e) {
				editors = append(editors, e)
			}
		}
		out = append(out,
			ssoAccount{ksa: RunnerKSA, ns: sp.ns, rule: argoproj.Rule(sp.runners), precedence: 2, suffix: sp.suffix},
			ssoAccount{ksa: EditorKSA, ns: sp.ns, rule: argoproj.Rule(editors), precedence: 3, suffix: sp.suffix},
		)
	}
	return out
}

// unique is list without repeats, in order.
func unique(list []string) []string {
	var out []string
	for _, m := range list {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// signIn creates the OAuth client's Secret and the accounts, their tokens,
// Roles and bindings.
func (b *builder) signIn() error {
	si := b.args.SignIn
	if _, err := corev1.NewSecret(b.ctx, b.child("secret-"+ssoClientSecret), &corev1.SecretArgs{
		Metadata: b.meta(ssoClientSecret, serverName),
		StringData: pulumi.StringMap{
			"client-id":     pulumi.String(si.ClientID),
			"client-secret": pulumi.ToSecret(si.ClientSecret).(pulumi.StringOutput),
		},
	}, b.inNamespace()...); err != nil {
		return fmt.Errorf("argo: sign-in client secret: %w", err)
	}
	accounts := b.ssoAccounts()
	for _, acc := range accounts {
		if err := b.tokenAccount(acc.ns, acc.ksa, signInComponent, acc.suffix, pulumi.StringMap{
			rbacRule: pulumi.String(acc.rule), rbacPrecedence: pulumi.String(strconv.Itoa(acc.precedence)),
		}); err != nil {
			return err
		}
	}
	// Rights: the viewers' account looks in every workflow namespace; each
	// namespace's runners' and editors' accounts act there; the editors'
	// accounts at home look everywhere and delete the archive where their
	// editors run.
	for _, sp := range b.spaces() {
		grants := []struct {
			ksa, accountNS string
			rules          []Rule
		}{
			{ViewerKSA, b.args.Namespace, LookRules},
			{RunnerKSA, sp.ns, RunRules},
			{EditorKSA, sp.ns, EditRules},
		}
		for _, acc := range accounts {
			if acc.archive == nil {
				continue
			}
			rules := LookRules
			if slices.Contains(acc.archive, sp.ns) {
				rules = ArchiveRules
			}
			grants = append(grants, struct {
				ksa, accountNS string
				rules          []Rule
			}{acc.ksa, acc.ns, rules})
		}
		for _, g := range grants {
			role, err := rbacv1.NewRole(b.ctx, b.child("role-"+g.ksa+sp.suffix), &rbacv1.RoleArgs{
				Metadata: b.metaIn(sp.ns, g.ksa, signInComponent),
				Rules:    policyRules(g.rules),
			}, b.inNamespace()...)
			if err != nil {
				return fmt.Errorf("argo: role %s/%s: %w", sp.ns, g.ksa, err)
			}
			if _, err := rbacv1.NewRoleBinding(b.ctx, b.child("rolebinding-"+g.ksa+sp.suffix), &rbacv1.RoleBindingArgs{
				Metadata: b.metaIn(sp.ns, g.ksa, signInComponent),
				RoleRef:  roleRef("Role", role.Metadata.Name().Elem()),
				Subjects: accountSubject(g.accountNS, g.ksa),
			}, b.inNamespace()...); err != nil {
				return fmt.Errorf("argo: role binding %s/%s: %w", sp.ns, g.ksa, err)
			}
		}
	}
	return nil
}
