//go:build tools

// Package tools pins the real Kubernetes control plane (kube-apiserver,
// kube-controller-manager, kube-scheduler) that the end-to-end tests and the
// sandbox run on loopback. etcd is built from ./etcd in this same module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
