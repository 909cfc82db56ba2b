//go:build tools

// Package tools pins Argo Workflows, a test tool here (never deployed):
// tools/build.sh builds its workflow-controller and argo binaries at this
// version, and the tests in this module decode the program's ConfigMaps
// with Argo's own config reader.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v4/config"
)
