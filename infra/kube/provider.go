// Package kube holds the Kubernetes provider settings shared by the real
// cluster (infra/gcp) and the local control plane of the tests, so both
// deploy with the same provider behaviour.
package kube

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewProvider is the provider that deploys into the cluster kubeconfig
// reaches, with ProviderArgs.
func NewProvider(ctx *pulumi.Context, name string, kubeconfig pulumi.StringInput, opts ...pulumi.ResourceOption) (*kubernetes.Provider, error) {
	return kubernetes.NewProvider(ctx, name, ProviderArgs(kubeconfig), opts...)
}

// ProviderArgs returns the provider settings for a cluster reached with
// kubeconfig.
func ProviderArgs(kubeconfig pulumi.StringInput) *kubernetes.ProviderArgs {
	return &kubernetes.ProviderArgs{
		Kubeconfig: kubeconfig,
		// By default the provider replaces a ConfigMap whose data changes.
		// Argo's controller watches its ConfigMap and reloads it in place;
		// a replacement would delete it under the running controller.
		EnableConfigMapMutable: pulumi.Bool(true),
		// Likewise a Secret (the admin password's rotation): a replacement
		// deletes it first (its name is fixed), and a pod starting in that
		// moment cannot read it.
		EnableSecretMutable: pulumi.Bool(true),
	}
}
