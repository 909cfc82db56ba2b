// Command argo-platform is the Pulumi program: `pulumi up --stack staging`.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra"
)

func main() { pulumi.Run(infra.Deploy) }
