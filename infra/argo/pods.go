package argo

import (
	"fmt"
	"strconv"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	schedulingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/scheduling/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
)

// ExecutorResources are the requests of Argo's init and wait containers in
// every step pod. On Autopilot a container with no requests is billed 500m
// CPU and 2 GiB; these stay above Autopilot's minimums (50m, 52 MiB) and
// within its 1:1 to 1:6.5 CPU:memory ratio.
var ExecutorResources = map[string]string{"cpu": "50m", "memory": "128Mi"}

func requests(cpu, memory string) corev1.ResourceRequirementsArgs {
	r := pulumi.StringMap{"cpu": pulumi.String(cpu), "memory": pulumi.String(memory)}
	// Autopilot sets limits equal to requests; saying so keeps diffs quiet.
	return corev1.ResourceRequirementsArgs{Requests: r, Limits: r}
}

func podSecurity() corev1.PodSecurityContextArgs {
	return corev1.PodSecurityContextArgs{
		RunAsNonRoot:   pulumi.Bool(true),
		SeccompProfile: corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// containerSecurity is non-root, read-only root filesystem, no privilege
// escalation and no capabilities. uid 0 keeps the image's own (numeric) user.
func containerSecurity(uid int) corev1.SecurityContextArgs {
	sc := corev1.SecurityContextArgs{
		RunAsNonRoot:             pulumi.Bool(true),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Capabilities:             corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
	if uid > 0 {
		sc.RunAsUser = pulumi.Int(uid)
	}
	return sc
}

// proxy is the Cloud SQL Auth Proxy v2 as a native sidecar (an init container
// with restartPolicy Always): it starts before the app, stays up beside it,
// and does not keep a finished Job alive.
func (b *builder) proxy(port, healthPort int, iamLogin bool) corev1.ContainerArgs {
	args := pulumi.StringArray{
		pulumi.String("--private-ip"),
		pulumi.String("--address=127.0.0.1"),
		pulumi.String("--port=" + strconv.Itoa(port)),
		pulumi.String("--health-check"),
		pulumi.String("--http-address=0.0.0.0"),
		// The default health port is 9090, the controller's metrics port.
		pulumi.String("--http-port=" + strconv.Itoa(healthPort)),
		pulumi.String("--structured-logs"),
		pulumi.String("--exit-zero-on-sigterm"),
	}
	if iamLogin {
		// Log in as the pod's Workload Identity: no database password.
		args = append(args, pulumi.String("--auto-iam-authn"))
	}
	args = append(args, b.args.Database.ConnectionName.ToStringOutput())
	probe := func(path string, failures int) corev1.ProbeArgs {
		return corev1.ProbeArgs{
			HttpGet:          corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(healthPort)},
			PeriodSeconds:    pulumi.Int(2),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	return corev1.ContainerArgs{
		Name:          pulumi.String("cloud-sql-proxy"),
		Image:         pulumi.String(b.images.Proxy),
		Args:          args,
		RestartPolicy: pulumi.String("Always"),
		Ports: corev1.ContainerPortArray{
			corev1.ContainerPortArgs{Name: pulumi.String("proxy-health"), ContainerPort: pulumi.Int(healthPort)},
		},
		StartupProbe:    probe("/startup", 60),
		LivenessProbe:   probe("/liveness", 5),
		SecurityContext: containerSecurity(0),
		Resources:       requests("100m", "128Mi"),
	}
}

// podDeps are what a pod needs before it starts: the GCP grants handed in,
// its ServiceAccounts, Argo's CRDs (the controller watches them at start),
// the one-time database grants, and the workflow namespace's admission
// policy (no step pod is created before it holds).
func (b *builder) podDeps() pulumi.ResourceOption {
	deps := append([]pulumi.Resource{}, b.args.PodPrerequisites...)
	deps = append(deps, b.accounts...)
	deps = append(deps, b.crdResources...)
	for _, r := range []pulumi.Resource{b.bootstrap, b.guard} {
		if r != nil {
			deps = append(deps, r)
		}
	}
	return pulumi.DependsOn(deps)
}

// controllerResources sizes the controller for its worker count.
func controllerResources(t argoproj.Settings) corev1.ResourceRequirementsArgs {
	if t.WorkflowWorkers >= 32 {
		return requests("1", "2Gi")
	}
	return requests("250m", "512Mi")
}

func (b *builder) controller() error {
	a := b.args
	t := a.Settings
	args := pulumi.StringArray{
		pulumi.String("--configmap=" + controllerConfigMap),
		pulumi.String("--executor-image=" + b.images.Executor),
		// No --namespaced: workflows run in a namespace per account, apart
		// from the controller, and Argo watches one namespace or all
		// (ControllerClusterRules are reads; it writes only in the
		// workflow namespaces).
		pulumi.String("--workflow-workers=" + strconv.Itoa(t.WorkflowWorkers)),
		pulumi.String("--qps=" + strconv.FormatFloat(t.APIQPS, 'f', -1, 64)),
		pulumi.String("--burst=" + strconv.Itoa(t.APIBurst)),
		pulumi.String("--log-format=json"),
	}
	dep, err := appsv1.NewDeployment(b.ctx, b.child("deployment-"+controllerName), &appsv1.DeploymentArgs{
		Metadata: b.meta(controllerName, controllerName),
		Spec: appsv1.DeploymentSpecArgs{
			// One replica: leader election is off, and Recreate never runs
			// two controllers at once.
			Replicas: pulumi.Int(1),
			Strategy: appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Selector: &metav1.LabelSelectorArgs{MatchLabels: b.selector(controllerName)},
			Template: corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: b.labels(controllerName)},
				Spec: corev1.PodSpecArgs{
					// Seed lesson: an explicit account, never `default`.
					ServiceAccountName: pulumi.String(a.Controller.KSA),
					PriorityClassName:  pulumi.String(priorityClass),
					SecurityContext:    podSecurity(),
					InitContainers:     corev1.ContainerArray{b.proxy(postgresPort, proxyHealthPort, true)},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:    pulumi.String(controllerName),
						Image:   pulumi.String(b.images.Controller),
						Command: pulumi.StringArray{pulumi.String("workflow-controller")},
						Args:    args,
						Env: corev1.EnvVarArray{
							corev1.EnvVarArgs{Name: pulumi.String("LEADER_ELECTION_DISABLE"), Value: pulumi.String("true")},
							// Pods are created only when a workflow is looked at again:
							// Argo's 10 s default caps a fan-out at podBurst per 10 s.
							corev1.EnvVarArgs{Name: pulumi.String("DEFAULT_REQUEUE_TIME"), Value: pulumi.String(strconv.Itoa(t.RequeueSeconds) + "s")},
							corev1.EnvVarArgs{Name: pulumi.String("LEADER_ELECTION_IDENTITY"), ValueFrom: corev1.EnvVarSourceArgs{
								// apiVersion is what the API server defaults; the selector is
								// atomic under server-side apply, so leaving it out makes an
								// up that adopts this Deployment (after a killed up) conflict.
								FieldRef: corev1.ObjectFieldSelectorArgs{ApiVersion: pulumi.String("v1"), FieldPath: pulumi.String("metadata.name")},
							}},
						},
						Ports: corev1.ContainerPortArray{
							corev1.ContainerPortArgs{Name: pulumi.String("metrics"), ContainerPort: pulumi.Int(metricsPort)},
							corev1.ContainerPortArgs{Name: pulumi.String("healthz"), ContainerPort: pulumi.Int(healthzPort)},
						},
						LivenessProbe: corev1.ProbeArgs{
							HttpGet:             corev1.HTTPGetActionArgs{Path: pulumi.String("/healthz"), Port: pulumi.Int(healthzPort)},
							InitialDelaySeconds: pulumi.Int(90),
							PeriodSeconds:       pulumi.Int(60),
							TimeoutSeconds:      pulumi.Int(30),
						},
						SecurityContext: containerSecurity(0),
						Resources:       controllerResources(t),
					}},
				},
			},
		},
	}, b.inNamespace(b.podDeps())...)
	if err != nil {
		return fmt.Errorf("argo: controller: %w", err)
	}
	b.controllerDeployment = dep
	return nil
}

func (b *builder) server() error {
	a := b.args
	mem := a.ServerMemory()
	_, err := appsv1.NewDeployment(b.ctx, b.child("deployment-"+serverName), &appsv1.DeploymentArgs{
		Metadata: b.meta(serverName, serverName),
		Spec: appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.ServerReplicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			Template: corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: b.labels(serverName)},
				Spec: corev1.PodSpecArgs{
					// Seed lesson: an explicit account, never `default`.
					ServiceAccountName: pulumi.String(a.Server.KSA),
					SecurityContext:    podSecurity(),
					// The server opens the archive too (archived workflows in
					// the UI), so it gets its own proxy and IAM login.
					InitContainers: corev1.ContainerArray{b.proxy(postgresPort, proxyHealthPort, true)},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:  pulumi.String(serverName),
						Image: pulumi.String(b.images.Server),
						Args: pulumi.StringArray{
							pulumi.String("server"),
							// No --namespaced: it serves every workflow
							// namespace (ServerClusterRules are reads).
							pulumi.String("--configmap=" + serverConfigMap),
							// Seed lesson: IAP terminates TLS and talks plain
							// HTTP to the backend, so the server must too.
							pulumi.String("--secure=false"),
							// IAP decides who reaches it; the server signs
							// each person in (Google) and acts, request by
							// request, as the account their sign-in picks
							// (signin.go). No other mode: without a sign-in,
							// nothing, even with IAP off.
							pulumi.String("--auth-mode=sso"),
							pulumi.String("--log-format=json"),
						},
						Env: corev1.EnvVarArray{
							// A request in a workflow namespace acts as that
							// namespace's runners' or editors' account when the
							// person's rule holds there, else as the viewers'.
							corev1.EnvVarArgs{Name: pulumi.String("SSO_DELEGATE_RBAC_TO_NAMESPACE"), Value: pulumi.String("true")},
							// No artifact downloads through the server: it
							// fetches an artifact from wherever the workflow's
							// spec says, with the headers it names and the
							// server's own network and Google identity, so a
							// runner's HTTP artifact pointed at the metadata
							// server would hand anyone who may look the
							// server's token. Step logs stay in GCS and Cloud
							// Logging (the UI's links).
							corev1.EnvVarArgs{Name: pulumi.String("ARGO_ARTIFACT_SERVER"), Value: pulumi.String("false")},
							// The Go runtime collects harder as the heap nears
							// this, so the garbage of one unbounded list does
							// not take the container over its limit
							// (argoproj.ServerMemory; make bench-archive).
							corev1.EnvVarArgs{Name: pulumi.String("GOMEMLIMIT"), Value: pulumi.Sprintf("%dMiB", mem.GoMemLimitMiB)},
						},
						Ports: corev1.ContainerPortArray{
							corev1.ContainerPortArgs{Name: pulumi.String("web"), ContainerPort: pulumi.Int(serverPort)},
						},
						// argo-server has no health endpoint; GET / over HTTP,
						// as the load balancer behind IAP checks it.
						ReadinessProbe: corev1.ProbeArgs{
							HttpGet: corev1.HTTPGetActionArgs{
								Path:   pulumi.String("/"),
								Port:   pulumi.Int(serverPort),
								Scheme: pulumi.String("HTTP"),
							},
							InitialDelaySeconds: pulumi.Int(10),
							PeriodSeconds:       pulumi.Int(20),
						},
						VolumeMounts: corev1.VolumeMountArray{
							corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
						},
						SecurityContext: containerSecurity(0),
						// Sized for the archive the settings allow: Argo's
						// unbounded list (the CLI's default) builds a
						// namespace's whole archive in memory.
						Resources: requests(fmt.Sprintf("%dm", a.ServerCPU()), fmt.Sprintf("%dMi", mem.LimitMiB)),
					}},
					Volumes: corev1.VolumeArray{
						corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: corev1.EmptyDirVolumeSourceArgs{}},
					},
				},
			},
		},
		// The server starts once its user has its tables (granted after
		// the controller migrated them).
	}, b.inNamespace(b.podDeps(), pulumi.DependsOn([]pulumi.Resource{b.serverGrant}))...)
	if err != nil {
		return fmt.Errorf("argo: server: %w", err)
	}
	if a.ServerReplicas >= 2 {
		if _, err := policyv1.NewPodDisruptionBudget(b.ctx, b.child("pdb-"+serverName), &policyv1.PodDisruptionBudgetArgs{
			Metadata: b.meta(serverName, serverName),
			Spec: policyv1.PodDisruptionBudgetSpecArgs{
				MinAvailable: pulumi.Int(1),
				Selector:     &metav1.LabelSelectorArgs{MatchLabels: b.selector(serverName)},
			},
		}, b.inNamespace()...); err != nil {
			return fmt.Errorf("argo: server pdb: %w", err)
		}
	}
	return nil
}

// priorityClass keeps the controller scheduled ahead of workflow pods when
// Autopilot is short of capacity.
func (b *builder) priorityClass() error {
	_, err := schedulingv1.NewPriorityClass(b.ctx, b.child("priorityclass"), &schedulingv1.PriorityClassArgs{
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(priorityClass), Labels: b.labels(controllerName)},
		Value:       pulumi.Int(1000000),
		Description: pulumi.String("Argo workflow-controller: scheduled before workflow pods."),
	}, b.opts()...)
	if err != nil {
		return fmt.Errorf("argo: priority class: %w", err)
	}
	return nil
}
