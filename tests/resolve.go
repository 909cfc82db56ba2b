package tests

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
)

// Captured holds the resolved value of an Output. Register it inside the
// program with Capture; read it after RunErr returns with Value, which fails
// the test when the Output never became known (under preview an ApplyT on an
// unknown value never runs, and an assertion inside it would silently pass).
type Captured struct {
	mu    sync.Mutex
	known bool
	value any
	done  pulumi.Output
}

// Capture records out's value when it resolves. Call AwaitCaptures once all
// are made, so that the run waits for them.
func Capture(out pulumi.Output) *Captured {
	c := &Captured{}
	c.done = out.ApplyT(func(v any) any {
		c.mu.Lock()
		c.known, c.value = true, v
		c.mu.Unlock()
		return nil
	})
	return c
}

// AwaitCaptures makes the run wait for every capture: an apply on a plain
// value is not tied to the program's work group, so it is exported under a
// test-only key (only test programs call this; Deploy never does).
func AwaitCaptures(ctx *pulumi.Context, cs map[string]*Captured) {
	var all []any
	for _, c := range cs {
		all = append(all, c.done)
	}
	ctx.Export("test:captures", pulumi.All(all...))
}

// Value returns the captured value, failing t when it is unknown.
func (c *Captured) Value(t testing.TB) any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.True(t, c.known, "output is unknown: an assertion on it would assert nothing")
	return c.value
}

// Known reports whether the output resolved.
func (c *Captured) Known() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known
}
