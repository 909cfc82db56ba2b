package argo

import (
	"fmt"
	"net/netip"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancerRanges are where Google's external Application Load Balancer
// proxies and health checks come from. argo-server asks every request for a
// sign-in, but IAP in front is the first wall: nothing else may reach it.
var LoadBalancerRanges = []string{"130.211.0.0/22", "35.191.0.0/16"}

// PrometheusNamespaces are where GKE Managed Prometheus's collectors run.
var PrometheusNamespaces = []string{"gke-gmp-system", "gmp-system"}

// Egress is where Argo's pods may connect beyond their own pod: every
// namespace of Argo's (its home and each workflow namespace) denies all other
// egress. Who needs each destination:
//   - DNS (kube-dns, NodeLocal DNSCache, or Cloud DNS for GKE at the
//     metadata address), TCP and UDP 53: every pod resolves names;
//   - the API server (APIServerCIDR, 443): the controller, argo-server and
//     every step's executor (its wait container reports results);
//   - GKE's metadata server (169.254.169.254:80, and 169.254.169.252:988
//     where GKE serves Workload Identity; and the nodes' own addresses on
//     those ports, where reports from GKE clusters say Dataplane V2 has
//     already sent the request when it judges it): every pod's Google token;
//   - Google's APIs (GoogleAPIsCIDR, 443): GCS for logs and artifacts, the
//     Cloud SQL Admin API for the Auth Proxies, and whatever Google API a
//     workflow identity was granted (BigQuery, Secret Manager);
//   - Cloud SQL (DatabaseCIDR, 3307): the Auth Proxy sidecars, in Argo's
//     home only; PostgreSQL's own 5432 is never reachable, so no pod tries
//     a password against the instance;
//   - the sign-in issuer (any public address, 443): argo-server alone reads
//     the OpenID Connect discovery and keys of its issuer (Google's
//     accounts.google.com has no fixed range; private.googleapis.com serves
//     only its service-account paths).
//
// A step that needs anything else (a partner's API on the internet) is
// refused: its namespace needs a policy of its own.
type Egress struct {
	// APIServerCIDR holds the Kubernetes API server's private endpoint (the
	// GKE control plane's range). Required.
	APIServerCIDR string
	// GoogleAPIsCIDR is where *.googleapis.com resolves inside the VPC
	// (private.googleapis.com). Required.
	GoogleAPIsCIDR string
	// DatabaseCIDR holds Cloud SQL's private IPs (private services access):
	// the instance, and any clone a restore makes. Required.
	DatabaseCIDR string
	// NodesCIDR holds the nodes' addresses: reached on the metadata
	// server's ports only. Required.
	NodesCIDR string
	// After are what must exist before the policies apply: the DNS that
	// sends Google's API names to GoogleAPIsCIDR (a pod still resolving
	// them to a public address would be refused). Optional.
	After []pulumi.Resource
}

// GKE's node-local addresses pods reach (GKE's Workload Identity and
// NodeLocal DNSCache documentation).
const (
	// MetadataServer answers tokens on 80 and, with Cloud DNS for GKE,
	// DNS on 53.
	MetadataServer = "169.254.169.254/32"
	// MetadataServerWorkloadIdentity is where GKE's metadata server
	// serves Workload Identity on 988.
	MetadataServerWorkloadIdentity = "169.254.169.252/32"
	// NodeLocalDNS is NodeLocal DNSCache's address on each node.
	NodeLocalDNS = "169.254.20.10/32"
	// cloudSQLPort is Cloud SQL's server-side proxy: where the Auth Proxy
	// connects (PostgreSQL's own 5432 is not needed).
	cloudSQLPort = 3307
)

// NonPublicRanges are the private, shared and link-local ranges: the sign-in
// issuer's rule reaches public addresses only.
// (IANA's special-purpose registry: this network, private, shared, loopback,
// link-local, protocol assignments, benchmarking, multicast and reserved).
var NonPublicRanges = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
}

func (e Egress) check() error {
	for _, c := range []struct{ name, cidr string }{
		{"APIServerCIDR", e.APIServerCIDR}, {"GoogleAPIsCIDR", e.GoogleAPIsCIDR}, {"DatabaseCIDR", e.DatabaseCIDR}, {"NodesCIDR", e.NodesCIDR},
	} {
		p, err := netip.ParsePrefix(c.cidr)
		if err != nil || !p.Addr().Is4() || p.Masked() != p {
			return fmt.Errorf("argo: egress %s %q: an IPv4 network in CIDR form is required (e.g. 10.10.0.0/20)", c.name, c.cidr)
		}
	}
	return nil
}

// ports are a policy's ports: nums, each over proto.
func ports(proto string, nums ...int) networkingv1.NetworkPolicyPortArray {
	var out networkingv1.NetworkPolicyPortArray
	for _, n := range nums {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(n), Protocol: pulumi.String(proto)})
	}
	return out
}

// to are a policy's peers: one ipBlock per CIDR.
func to(cidrs ...string) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, c := range cidrs {
		out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	return out
}

// egressRules are the rules every pod of a namespace gets; database adds
// Cloud SQL (Argo's home).
func (b *builder) egressRules(database bool) networkingv1.NetworkPolicyEgressRuleArray {
	e := b.args.Egress
	dns := append(ports("UDP", 53), ports("TCP", 53)...)
	rules := networkingv1.NetworkPolicyEgressRuleArray{
		// kube-dns and NodeLocal DNSCache run in kube-system; GKE Dataplane
		// V2 judges a Service's traffic by the pod it reaches, not its
		// ClusterIP.
		networkingv1.NetworkPolicyEgressRuleArgs{
			To: append(networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
					"kubernetes.io/metadata.name": pulumi.String("kube-system"),
				}},
			}}, to(NodeLocalDNS, MetadataServer)...),
			Ports: dns,
		},
		networkingv1.NetworkPolicyEgressRuleArgs{To: to(e.APIServerCIDR, e.GoogleAPIsCIDR), Ports: ports("TCP", 443)},
		networkingv1.NetworkPolicyEgressRuleArgs{To: to(MetadataServer, MetadataServerWorkloadIdentity, e.NodesCIDR), Ports: append(ports("TCP", 80), ports("TCP", 988)...)},
	}
	if database {
		rules = append(rules, networkingv1.NetworkPolicyEgressRuleArgs{To: to(e.DatabaseCIDR), Ports: ports("TCP", cloudSQLPort)})
	}
	return rules
}

// networkPolicies deny all ingress in every namespace, then open argo-server to
// the load balancer and the controller's metrics to Managed Prometheus; and
// allow each namespace's pods only the egress they need (Egress).
func (b *builder) networkPolicies() error {
	denyAll := networkingv1.NetworkPolicySpecArgs{
		PodSelector: metav1.LabelSelectorArgs{},
		PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
	}
	type policy struct {
		name, ns, suffix string
		spec             networkingv1.NetworkPolicySpecArgs
	}
	egress := func(database bool) networkingv1.NetworkPolicySpecArgs {
		return networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress:      b.egressRules(database),
		}
	}
	public := networkingv1.IPBlockArgs{Cidr: pulumi.String("0.0.0.0/0"), Except: pulumi.ToStringArray(NonPublicRanges)}
	policies := []policy{
		{"default-deny-ingress", b.args.Namespace, "", denyAll},
		{"egress", b.args.Namespace, "", egress(true)},
		{"argo-server-to-sign-in", b.args.Namespace, "", networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{networkingv1.NetworkPolicyEgressRuleArgs{
				To:    networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{IpBlock: public}},
				Ports: ports("TCP", 443),
			}},
		}},
		{"argo-server-from-load-balancer", b.args.Namespace, "", networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  to(LoadBalancerRanges...),
				Ports: ports("TCP", serverPort),
			}},
		}},
		{"controller-metrics-from-prometheus", b.args.Namespace, "", networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: b.selector(controllerName)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				// Managed collection runs in gke-gmp-system on Autopilot
				// (gmp-system on older or self-deployed installs).
				From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
					NamespaceSelector: metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{
						metav1.LabelSelectorRequirementArgs{
							Key:      pulumi.String("kubernetes.io/metadata.name"),
							Operator: pulumi.String("In"),
							Values:   pulumi.ToStringArray(PrometheusNamespaces),
						},
					}},
				}},
				Ports: ports("TCP", metricsPort),
			}},
		}},
	}
	for _, sp := range b.spaces() {
		// Workflow pods serve nothing: no one may connect to them.
		policies = append(policies, policy{"default-deny-ingress", sp.ns, sp.suffix, denyAll},
			// Steps reach DNS, the API server, the metadata server and
			// Google's APIs; never the database.
			policy{"egress", sp.ns, sp.suffix, egress(false)})
	}
	for _, p := range policies {
		resource := "netpol-" + p.name
		if p.ns != b.args.Namespace {
			resource += "-workloads" + p.suffix
		}
		if _, err := networkingv1.NewNetworkPolicy(b.ctx, b.child(resource), &networkingv1.NetworkPolicyArgs{
			Metadata: b.metaIn(p.ns, p.name, dataPlaneApp),
			Spec:     p.spec,
		}, b.inNamespace(pulumi.DependsOn(b.args.Egress.After))...); err != nil {
			return fmt.Errorf("argo: network policy %s: %w", p.name, err)
		}
	}
	return nil
}
