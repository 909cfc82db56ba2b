// Package kube holds the Kubernetes provider settings shared by the real
// cluster (infra/gcp) and the local control plane of the tests, so both
// deploy with the same provider behaviour.
package kube

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ProviderArgs returns the provider settings for a cluster reached with
// kubeconfig.
func ProviderArgs(kubeconfig pulumi.StringInput) *kubernetes.ProviderArgs {
	return &kubernetes.ProviderArgs{
		Kubeconfig: kubeconfig,
		// By default the provider replaces a ConfigMap whose data changes.
		// Argo's controller watches its ConfigMap and reloads it in place;
		// a replacement would delete it under the running controller.
		EnableConfigMapMutable: pulumi.Bool(true),
	}
}
