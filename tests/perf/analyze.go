package perf

import (
	"fmt"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/infra/argo"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
)

// Targets the report checks.
const (
	MaxPathRatio       = 1.05 // critical path over its lower bound
	MinOverheadFactor  = 10.0 // Autopilot's default step overhead over ours
	AutopilotMinCPU    = "50m"
	AutopilotMinMemory = "52Mi"
	// Autopilot bills a container with no requests 500m CPU and 2 GiB.
	AutopilotDefaultCPU    = "500m"
	AutopilotDefaultMemory = "2Gi"
)

// Prices are Autopilot general-purpose list prices per hour in USD, for one
// region, and where they come from.
type Prices struct {
	RegularVCPUHour, RegularGiBHour float64
	SpotVCPUHour, SpotGiBHour       float64
	Source                          string
}

// AutopilotPrices are the regions whose prices are on record. The model
// prices the stack's own region (gcp:region); a region missing here is
// reported as such, never priced with another region's figures. Add a
// region with its source when you deploy there.
var AutopilotPrices = map[string]Prices{
	"us-central1": {
		RegularVCPUHour: 0.0445, RegularGiBHour: 0.0049225, SpotVCPUHour: 0.0133, SpotGiBHour: 0.0014767,
		Source: "GKE pricing page, Autopilot general-purpose Pods, us-central1 (as published in 2024)",
	},
	"asia-southeast1": {
		RegularVCPUHour: 0.0549, RegularGiBHour: 0.0060729, SpotVCPUHour: 0.0165, SpotGiBHour: 0.0018219,
		Source: "GKE pricing page, Autopilot general-purpose Pods, asia-southeast1, as transcribed in a public cost calculator (kahnwong/calculator)",
	},
}

// SpotDiscount is the range Google documents for Spot Pods against regular
// ones in every region ("60-91% off"): what the report can say of a region
// without prices on record.
const SpotDiscount = "60-91%"

// Report is everything `make perf` prints for one stack.
type Report struct {
	Stack      string
	Settings   stacks.Settings
	Resources  int
	Depth      int
	Critical   Path
	LowerBound Path
	// Ratio is Critical over LowerBound.
	Ratio float64

	// StepCPU and StepMemory are what Argo's init and wait containers
	// request in every step pod, together.
	StepCPU, StepMemory resource.Quantity
	// DefaultCPU and DefaultMemory are what Autopilot would bill for them
	// with no requests set.
	DefaultCPU, DefaultMemory resource.Quantity
	// AboveMinimums reports whether each executor container requests at
	// least Autopilot's minimum.
	AboveMinimums bool
	Executor      argo.Resources
	Defaults      argo.WorkflowSpecDefaults
}

// CPUFactor and MemoryFactor are how many times less than Autopilot's
// default the step overhead is.
func (r Report) CPUFactor() float64 { return ratio(r.DefaultCPU, r.StepCPU) }

// MemoryFactor: see CPUFactor.
func (r Report) MemoryFactor() float64 { return ratio(r.DefaultMemory, r.StepMemory) }

func ratio(a, b resource.Quantity) float64 {
	if b.IsZero() {
		return 0
	}
	return a.AsApproximateFloat64() / b.AsApproximateFloat64()
}

// Analyze runs Deploy for a real stack file under the recording mock and
// models it.
func Analyze(stack string) (*Report, error) {
	config, err := tests.StackConfig(stack)
	if err != nil {
		return nil, err
	}
	rec, err := tests.Run(infra.Deploy, stack, config, false)
	if err != nil {
		return nil, err
	}
	cfg, err := stacks.Parse(stacks.Input{
		Stack: stack, Project: config[stacks.KeyProject], Region: config[stacks.KeyRegion],
		Settings: config[stacks.KeySettings], DatabaseAdminPassword: config[stacks.KeyDatabaseAdminPassword], SSOClientSecret: config[stacks.KeySSOClientSecret],
	})
	if err != nil {
		return nil, err
	}
	g := Build(rec)
	r := &Report{Stack: stack, Settings: cfg.Settings, Resources: len(g), Depth: g.Depth()}
	r.Critical = g.Longest(nil)
	r.LowerBound = g.Longest(Required)
	if r.LowerBound.Seconds > 0 {
		r.Ratio = r.Critical.Seconds / r.LowerBound.Seconds
	}

	cm := findConfigMap(rec, "workflow-controller-configmap")
	if cm == nil {
		return nil, fmt.Errorf("%s: no workflow-controller-configmap registered", stack)
	}
	if err := yaml.Unmarshal([]byte(tests.Str(cm.Inputs, "data.executor")), &struct {
		Resources *argo.Resources `yaml:"resources"`
	}{&r.Executor}); err != nil {
		return nil, fmt.Errorf("%s: executor: %w", stack, err)
	}
	if err := yaml.Unmarshal([]byte(tests.Str(cm.Inputs, "data.workflowDefaults")), &struct {
		Spec *argo.WorkflowSpecDefaults `yaml:"spec"`
	}{&r.Defaults}); err != nil {
		return nil, fmt.Errorf("%s: workflowDefaults: %w", stack, err)
	}
	cpu, err := resource.ParseQuantity(r.Executor.Requests["cpu"])
	if err != nil {
		return nil, fmt.Errorf("%s: executor cpu: %w", stack, err)
	}
	mem, err := resource.ParseQuantity(r.Executor.Requests["memory"])
	if err != nil {
		return nil, fmt.Errorf("%s: executor memory: %w", stack, err)
	}
	r.AboveMinimums = cpu.Cmp(resource.MustParse(AutopilotMinCPU)) >= 0 && mem.Cmp(resource.MustParse(AutopilotMinMemory)) >= 0
	// Every step pod has two: init and wait.
	r.StepCPU, r.StepMemory = times(cpu, 2), times(mem, 2)
	r.DefaultCPU = times(resource.MustParse(AutopilotDefaultCPU), 2)
	r.DefaultMemory = times(resource.MustParse(AutopilotDefaultMemory), 2)
	return r, nil
}

func times(q resource.Quantity, n int64) resource.Quantity {
	out := q.DeepCopy()
	for range n - 1 {
		out.Add(q)
	}
	return out
}

func findConfigMap(rec *tests.Recorder, name string) *tests.Registered {
	for _, r := range rec.OfType("kubernetes:core/v1:ConfigMap") {
		if tests.Str(r.Inputs, "metadata.name") == name {
			return r
		}
	}
	return nil
}

// StepCost is the modelled hourly cost of one reference step (1 vCPU and
// 4 GiB for the step itself, plus Argo's overhead) on regular and Spot Pods.
// ok is false when the stack's region has no prices on record.
func (r Report) StepCost() (regular, spot float64, p Prices, ok bool) {
	p, ok = AutopilotPrices[r.Settings.Region]
	cpu := 1 + r.StepCPU.AsApproximateFloat64()
	gib := 4 + r.StepMemory.AsApproximateFloat64()/(1<<30)
	return cpu*p.RegularVCPUHour + gib*p.RegularGiBHour, cpu*p.SpotVCPUHour + gib*p.SpotGiBHour, p, ok
}
