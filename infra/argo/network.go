package argo

import (
	"fmt"

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

// networkPolicies deny all ingress in every namespace, then open argo-server to
// the load balancer and the controller's metrics to Managed Prometheus.
func (b *builder) networkPolicies() error {
	tcp := pulumi.String("TCP")
	var lb networkingv1.NetworkPolicyPeerArray
	for _, cidr := range LoadBalancerRanges {
		lb = append(lb, networkingv1.NetworkPolicyPeerArgs{IpBlock: networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	denyAll := networkingv1.NetworkPolicySpecArgs{
		PodSelector: metav1.LabelSelectorArgs{},
		PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
	}
	type policy struct {
		name, ns, suffix string
		spec             networkingv1.NetworkPolicySpecArgs
	}
	policies := []policy{
		{"default-deny-ingress", b.args.Namespace, "", denyAll},
		{"argo-server-from-load-balancer", b.args.Namespace, "", networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  lb,
				Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(serverPort), Protocol: tcp}},
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
				Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(metricsPort), Protocol: tcp}},
			}},
		}},
	}
	for _, sp := range b.spaces() {
		// Workflow pods serve nothing: no one may connect to them.
		policies = append(policies, policy{"default-deny-ingress", sp.ns, sp.suffix, denyAll})
	}
	for _, p := range policies {
		resource := "netpol-" + p.name
		if p.ns != b.args.Namespace {
			resource += "-workloads" + p.suffix
		}
		if _, err := networkingv1.NewNetworkPolicy(b.ctx, b.child(resource), &networkingv1.NetworkPolicyArgs{
			Metadata: b.metaIn(p.ns, p.name, dataPlaneApp),
			Spec:     p.spec,
		}, b.inNamespace()...); err != nil {
			return fmt.Errorf("argo: network policy %s: %w", p.name, err)
		}
	}
	return nil
}
