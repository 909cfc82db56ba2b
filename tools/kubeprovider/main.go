// Command pulumi-resource-kubernetes is the real Kubernetes provider plugin,
// built from the Go module proxy for the end-to-end tests and the sandbox.
//
// The module's own command embeds files generated at release time, so this
// ten-line twin embeds copies of the module's schema.json and
// terraform-mapping.json instead (tools/build.sh copies them beside this file;
// they are git-ignored).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
)

// version is what the plugin reports; set by tools/build.sh with -ldflags.
var version = "4.0.0-dev"

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var mapping []byte

func main() {
	provider.Serve("kubernetes", version, schema, mapping)
}
