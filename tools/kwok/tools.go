//go:build tools

// Package tools pins kwok, which plays the kubelet for fake nodes so that the
// local control plane's pods become Running and Ready.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
