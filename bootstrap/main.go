// Command bootstrap is the one-time trust setup of argo-platform, a Pulumi
// program of its own (docs/bootstrap.md): the state buckets, the secrets
// keys, and the GitHub Actions accounts with the conditions under which
// each may be used (package trust).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/bootstrap/trust"
)

func main() { pulumi.Run(trust.Deploy) }
