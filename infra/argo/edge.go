package argo

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

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

// HSTSHeader is the Strict-Transport-Security header the load balancer adds
// to every response: a year, the UI's host only.
const HSTSHeader = "Strict-Transport-Security: max-age=31536000"

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
		// argo-server serves plain HTTP behind the load balancer (seed
		// lesson), so it marks its session cookie neither Secure nor sends
		// HSTS itself: the load balancer adds HSTS, so a browser that has
		// signed in once never sends the session over http:// again (the
		// redirect below would only come after the cookie had left).
		"customResponseHeaders": map[string]any{"headers": []string{HSTSHeader}},
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
