// Command argo-platform is the Pulumi program: `pulumi up --stack staging`.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra"
)

func main() {
	if msg := outsidePulumi(os.Getenv); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(2)
	}
	pulumi.Run(infra.Deploy)
}

// outsidePulumi says what to run instead when the program was started
// without the Pulumi engine (`go run .`), which the engine's environment
// tells; "" under the engine. Without it the SDK exits 32 and prints
// nothing.
func outsidePulumi(getenv func(string) string) string {
	if getenv(pulumi.EnvMonitor) != "" {
		return ""
	}
	return `argo-platform is a Pulumi program: the Pulumi CLI runs it, not "go run".
  pulumi preview --stack staging   what would change in your GCP project (README, first screen)
  pulumi up --stack staging        deploy it
  make sandbox                     the same on a local control plane, no cloud account
  go test ./...                    the tests`
}
