//go:build tools

// Package tools pins the Pulumi CLI that the end-to-end tests and the
// sandbox drive. It lives in its own module so the CLI's dependency graph
// never leaks into the program's go.mod.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
