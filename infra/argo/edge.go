package argo

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancerRanges are where Google's external Application Load Balancer
// proxies and health checks come from. With --auth-mode=server, argo-server
// trusts whoever reaches it, so nothing else may.
var LoadBalancerRanges = []string{"130.211.0.0/22", "35.191.0.0/16"}

// PrometheusNamespaces are where GKE Managed Prometheus's collectors run.
var PrometheusNamespaces = []string{"gke-gmp-system", "gmp-system"}

// BackendTimeoutSec keeps the UI's long-lived streams (workflow watch, logs)
// open through the load balancer; its default is 30 seconds.
const BackendTimeoutSec = 3600

func (b *builder) custom(resource, apiVersion, kind, name string, spec map[string]any) (*apiextensions.CustomResource, error) {
	res, err := apiextensions.NewCustomResource(b.ctx, b.child(resource), &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(apiVersion),
		Kind:        pulumi.String(kind),
		Metadata:    b.meta(name, serverName),
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, b.inNamespace()...)
	if err != nil {
		return nil, fmt.Errorf("argo: %s: %w", resource, err)
	}
	return res, nil
}

// edge exposes argo-server through a GKE Ingress: container-native load
// balancing to the pods, IAP in front, a Google-managed certificate, and an
// HTTP-to-HTTPS redirect, on the environment's static IP.
func (b *builder) edge() error {
	a := b.args
	backend, err := b.custom("backendconfig", "cloud.google.com/v1", "BackendConfig", backendConfig, map[string]any{
		// IAP with GKE's Google-managed OAuth client: no
		// oauthclientCredentials (the OAuth Admin API is gone).
		"iap": map[string]any{"enabled": true},
		// Seed lesson: the health check speaks HTTP to GET / (no health
		// endpoint on argo-server).
		"healthCheck": map[string]any{
			"type":             "HTTP",
			"requestPath":      "/",
			"port":             serverPort,
			"checkIntervalSec": 15,
			"timeoutSec":       5,
		},
		"timeoutSec":         BackendTimeoutSec,
		"connectionDraining": map[string]any{"drainingTimeoutSec": 30},
	})
	if err != nil {
		return err
	}
	frontend, err := b.custom("frontendconfig", "networking.gke.io/v1beta1", "FrontendConfig", frontendConfig, map[string]any{
		"redirectToHttps": map[string]any{"enabled": true, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"},
	})
	if err != nil {
		return err
	}
	cert, err := b.custom("managedcertificate", "networking.gke.io/v1", "ManagedCertificate", certificateName, map[string]any{
		"domains": []string{a.Host},
	})
	if err != nil {
		return err
	}

	svcMeta := b.meta(serverName, serverName)
	svcMeta.Annotations = pulumi.StringMap{
		// Container-native load balancing: the load balancer reaches the
		// pods directly (network endpoint groups), as IAP's backend.
		"cloud.google.com/neg":            pulumi.String(`{"ingress": true}`),
		"cloud.google.com/backend-config": pulumi.String(fmt.Sprintf(`{"default": %q}`, backendConfig)),
	}
	svc, err := corev1.NewService(b.ctx, b.child("service-"+serverName), &corev1.ServiceArgs{
		Metadata: svcMeta,
		Spec: corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: b.selector(serverName),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name:       pulumi.String("web"),
				Port:       pulumi.Int(serverPort),
				TargetPort: pulumi.String("web"),
				Protocol:   pulumi.String("TCP"),
			}},
		},
	}, b.ownDeletion(pulumi.DependsOn([]pulumi.Resource{b.ns, backend}))...)
	if err != nil {
		return fmt.Errorf("argo: service: %w", err)
	}

	ingMeta := b.meta(ingressName, serverName)
	ingMeta.Annotations = pulumi.StringMap{
		"kubernetes.io/ingress.class":                 pulumi.String("gce"),
		"kubernetes.io/ingress.global-static-ip-name": a.StaticIPName,
		"networking.gke.io/managed-certificates":      pulumi.String(certificateName),
		"networking.gke.io/v1beta1.FrontendConfig":    pulumi.String(frontendConfig),
		// The load balancer and certificate take many minutes to converge
		// after the objects are accepted; `pulumi up` does not wait for them.
		// Deletion still waits: this provider honours skipAwait on delete
		// only for workload kinds, so `destroy` waits for GKE's ingress
		// finalizer, i.e. for the load balancer to be gone (TestDestroyOrder
		// checks it is not DeletedWith the cluster; make e2e plays the finalizer).
		"pulumi.com/skipAwait": pulumi.String("true"),
	}
	backendRef := networkingv1.IngressBackendArgs{Service: networkingv1.IngressServiceBackendArgs{
		Name: pulumi.String(serverName),
		Port: networkingv1.ServiceBackendPortArgs{Name: pulumi.String("web")},
	}}
	if _, err := networkingv1.NewIngress(b.ctx, b.child("ingress"), &networkingv1.IngressArgs{
		Metadata: ingMeta,
		Spec: networkingv1.IngressSpecArgs{
			DefaultBackend: backendRef,
			Rules: networkingv1.IngressRuleArray{networkingv1.IngressRuleArgs{
				Host: pulumi.String(a.Host),
				Http: networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{
					networkingv1.HTTPIngressPathArgs{Path: pulumi.String("/"), PathType: pulumi.String("Prefix"), Backend: backendRef},
				}},
			}},
		},
	}, b.ownDeletion(pulumi.DependsOn([]pulumi.Resource{b.ns, svc, cert, frontend}))...); err != nil {
		return fmt.Errorf("argo: ingress: %w", err)
	}
	return nil
}

// networkPolicies deny all ingress in both namespaces, then open argo-server to
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
	policies := []struct {
		name, ns string
		spec     networkingv1.NetworkPolicySpecArgs
	}{
		{"default-deny-ingress", b.args.Namespace, denyAll},
		// Workflow pods serve nothing: no one may connect to them.
		{"default-deny-ingress", b.args.WorkflowNamespace, denyAll},
		{"argo-server-from-load-balancer", b.args.Namespace, networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  lb,
				Ports: networkingv1.NetworkPolicyPortArray{networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(serverPort), Protocol: tcp}},
			}},
		}},
		{"controller-metrics-from-prometheus", b.args.Namespace, networkingv1.NetworkPolicySpecArgs{
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
	for _, p := range policies {
		resource := "netpol-" + p.name
		if p.ns != b.args.Namespace {
			resource += "-workloads"
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

// monitoring scrapes the controller's metrics with GKE Managed Prometheus.
func (b *builder) monitoring() error {
	_, err := apiextensions.NewCustomResource(b.ctx, b.child("podmonitoring"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.googleapis.com/v1"),
		Kind:       pulumi.String("PodMonitoring"),
		Metadata:   b.meta(controllerName, controllerName),
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": map[string]string{"app.kubernetes.io/name": controllerName}},
			"endpoints": []map[string]any{{"port": "metrics", "path": "/metrics", "interval": "30s"}},
		}},
	}, b.inNamespace()...)
	if err != nil {
		return fmt.Errorf("argo: pod monitoring: %w", err)
	}
	return nil
}
