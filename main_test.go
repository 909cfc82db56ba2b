package main

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
)

func TestGoRunSaysWhatToRunInstead(t *testing.T) {
	msg := outsidePulumi(func(string) string { return "" })
	for _, want := range []string{"pulumi up --stack staging", "make sandbox", "go test ./..."} {
		assert.Contains(t, msg, want)
	}
	underEngine := func(k string) string {
		if k == pulumi.EnvMonitor {
			return "127.0.0.1:12345"
		}
		return ""
	}
	assert.Empty(t, outsidePulumi(underEngine), "the engine's run goes on to Deploy")
}
