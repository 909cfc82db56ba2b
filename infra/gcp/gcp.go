// Package gcp holds the Google Cloud side of argo-platform, one component
// resource per concern: project services, network, cluster, identity, logs,
// database and edge. Each constructor has the shape
// NewX(ctx, name, *XArgs, ...pulumi.ResourceOption) (*X, error), parents every
// child to the component and ends with RegisterResourceOutputs.
package gcp

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// typePrefix starts every component type token: <project>:<module>:<Type>.
const typePrefix = "argo-platform:gcp:"

// protectIf returns Pulumi's protect option when on is set: production data
// is guarded twice, by the cloud's deletion protection and by Pulumi.
func protectIf(on bool) pulumi.ResourceOption {
	return pulumi.Protect(on)
}

// under parents a child to its component and makes it wait for deps.
func under(parent pulumi.Resource, deps []pulumi.Resource) pulumi.ResourceOption {
	return pulumi.Composite(pulumi.Parent(parent), pulumi.DependsOn(deps))
}
