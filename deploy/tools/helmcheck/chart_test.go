package helmcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

const chartDir = "../../helm/intake"

// kubeVersion is the oldest Kubernetes the chart says it supports (Chart.yaml's kubeVersion):
// the preStop sleep action is there from 1.30.
const kubeVersion = "v1.30.0"

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("cannot load the chart %s: %v", chartDir, err)
	}
	return ch
}

// rendered is one release's objects, decoded.
type rendered struct {
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	deployment   *appsv1.Deployment
	statefulSet  *appsv1.StatefulSet
	pdb          *policyv1.PodDisruptionBudget
	hpa          *autoscalingv2.HorizontalPodAutoscaler
	ingress      *networkingv1.Ingress
	kinds        []string
	intakeConfig map[string]any
}

// render runs `helm template` in-process (an install, client-side dry run) with vals.
func render(t *testing.T, vals map[string]any) *rendered {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = "intake"
	install.Namespace = "events"
	install.KubeVersion = kv
	rel, err := install.Run(loadChart(t), vals)
	if err != nil {
		t.Fatalf("helm template with %v: %v", vals, err)
	}
	r, ok := rel.(*release.Release)
	if !ok {
		t.Fatalf("install returned %T", rel)
	}
	if len(r.Hooks) != 0 {
		t.Errorf("the chart has %d hooks, want none", len(r.Hooks))
	}
	out := &rendered{configMaps: map[string]*corev1.ConfigMap{}, services: map[string]*corev1.Service{}}
	for _, doc := range strings.Split(r.Manifest, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		kind := head.APIVersion + " " + head.Kind
		out.kinds = append(out.kinds, kind)
		var obj any
		switch kind {
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "apps/v1 Deployment":
			out.deployment = &appsv1.Deployment{}
			obj = out.deployment
		case "apps/v1 StatefulSet":
			out.statefulSet = &appsv1.StatefulSet{}
			obj = out.statefulSet
		case "policy/v1 PodDisruptionBudget":
			out.pdb = &policyv1.PodDisruptionBudget{}
			obj = out.pdb
		case "autoscaling/v2 HorizontalPodAutoscaler":
			out.hpa = &autoscalingv2.HorizontalPodAutoscaler{}
			obj = out.hpa
		case "networking.k8s.io/v1 Ingress":
			out.ingress = &networkingv1.Ingress{}
			obj = out.ingress
		default:
			t.Fatalf("the chart renders %q, which this test does not know: add its API type\n%s", kind, doc)
		}
		// Strict: an unknown field (a typo, a field at the wrong level) or a duplicate key fails.
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s does not decode strictly into the Kubernetes API type: %v\n%s", kind, err, doc)
		}
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			out.configMaps[o.Name] = o
		case *corev1.Service:
			out.services[o.Name] = o
		}
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// podTemplate is the workload's, whichever kind it is.
func (r *rendered) podTemplate(t *testing.T) (string, *corev1.PodTemplateSpec) {
	t.Helper()
	switch {
	case r.deployment != nil && r.statefulSet == nil:
		return "Deployment", &r.deployment.Spec.Template
	case r.statefulSet != nil && r.deployment == nil:
		return "StatefulSet", &r.statefulSet.Spec.Template
	}
	t.Fatalf("want exactly one Deployment or StatefulSet, got %v", r.kinds)
	return "", nil
}

// checkCommon asserts what every values combination must keep.
func checkCommon(t *testing.T, r *rendered, wantHPA bool) (*corev1.PodTemplateSpec, *corev1.Container) {
	t.Helper()
	kind, tpl := r.podTemplate(t)
	pod := tpl.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := &pod.Containers[0]

	// The config file the pods read: intake's YAML, with the keys the chart owns.
	cm := r.configMaps["intake-config"]
	if cm == nil {
		t.Fatalf("no ConfigMap intake-config: %v", r.kinds)
	}
	var cfg map[string]any
	if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
		t.Fatalf("config.yaml: %v\n%s", err, cm.Data["config.yaml"])
	}
	r.intakeConfig = cfg
	if cfg["listen"] != "0.0.0.0:8192" {
		t.Errorf("listen = %v, want 0.0.0.0:8192", cfg["listen"])
	}
	if !hasArg(c.Args, "--config=/etc/intake/config.yaml") || !mounted(c, "config", "/etc/intake/config.yaml") {
		t.Errorf("the container does not read the config ConfigMap: args %q, mounts %v", c.Args, c.VolumeMounts)
	}

	// Probes on the edge's own routes and port.
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe = %+v, want GET %s on port http", name, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8192 || c.Ports[0].Name != "http" {
		t.Errorf("ports = %+v, want http 8192", c.Ports)
	}

	// Non-root, read-only root filesystem, nothing more.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod securityContext = %+v, want runAsNonRoot and runAsUser 65532 (the image's user)", psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container securityContext = %+v, want readOnlyRootFilesystem", sc)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container securityContext = %+v, want no privilege escalation and every capability dropped", sc)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it does not need")
	}

	// Termination: preStop sleep, then SIGTERM and --shutdown-timeout to drain, within the grace
	// period.
	shutdown, err := time.ParseDuration(fmt.Sprint(cfg["shutdown_timeout"]))
	if err != nil {
		t.Fatalf("config shutdown_timeout = %v: %v", cfg["shutdown_timeout"], err)
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if grace <= preStop+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v <= preStop %v + --shutdown-timeout %v: the kubelet kills the edge while it drains", grace, preStop, shutdown)
	}

	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v, want CPU and memory requests and a memory limit (the HPA needs the CPU request)", c.Resources)
	}
	a := tpl.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "8192" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations = %v, want prometheus.io scrape, port 8192, path /metrics", a)
	}
	if a["checksum/config"] == "" {
		t.Error("no checksum/config annotation: a config change would not roll the pods")
	}

	// The Service sends to the pods' http port; the PDB and the HPA select the workload.
	svc := r.services["intake"]
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service intake = %+v, want one port to http", svc)
	}
	if svc != nil && !selects(svc.Spec.Selector, tpl.Labels) {
		t.Errorf("the Service's selector %v misses the pods' labels %v", svc.Spec.Selector, tpl.Labels)
	}
	if r.pdb == nil {
		t.Error("no PodDisruptionBudget")
	} else {
		if !selects(r.pdb.Spec.Selector.MatchLabels, tpl.Labels) {
			t.Errorf("the PDB's selector %v misses the pods' labels %v", r.pdb.Spec.Selector.MatchLabels, tpl.Labels)
		}
		if r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() < 1 {
			t.Errorf("PDB maxUnavailable = %v, want at least 1 (0 blocks every node drain)", r.pdb.Spec.MaxUnavailable)
		}
	}
	switch {
	case !wantHPA && r.hpa != nil:
		t.Error("an HPA with autoscaling.enabled=false")
	case !wantHPA:
	case r.hpa == nil:
		t.Error("no HorizontalPodAutoscaler")
	default:
		ref := r.hpa.Spec.ScaleTargetRef
		if ref.Kind != kind || ref.Name != "intake" || ref.APIVersion != "apps/v1" {
			t.Errorf("the HPA scales %+v, want apps/v1 %s intake", ref, kind)
		}
		if len(r.hpa.Spec.Metrics) != 1 || r.hpa.Spec.Metrics[0].Resource == nil || r.hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU ||
			r.hpa.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
			t.Errorf("HPA metrics = %+v, want CPU utilization", r.hpa.Spec.Metrics)
		}
		if r.hpa.Spec.MinReplicas == nil || *r.hpa.Spec.MinReplicas < 2 || r.hpa.Spec.MaxReplicas < *r.hpa.Spec.MinReplicas {
			t.Errorf("HPA replicas %v..%d, want at least 2 at all times", r.hpa.Spec.MinReplicas, r.hpa.Spec.MaxReplicas)
		}
	}
	return tpl, c
}

func TestChartDefaults(t *testing.T) {
	r := render(t, nil)
	tpl, c := checkCommon(t, r, true)
	if r.deployment == nil {
		t.Fatalf("defaults render %v, want a Deployment", r.kinds)
	}
	if r.deployment.Spec.Replicas != nil {
		t.Error("the Deployment sets replicas although the HPA owns them")
	}
	// The spool: on by default, on an emptyDir of the pod's own, bounded below the volume.
	spoolDir := r.intakeConfig["spool_dir"]
	if spoolDir != "/var/lib/intake/spool" || !mounted(c, "spool", "/var/lib/intake") {
		t.Errorf("spool_dir = %v, mounts %v: want the spool volume at /var/lib/intake", spoolDir, c.VolumeMounts)
	}
	v := volume(tpl, "spool")
	if v == nil || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
		t.Fatalf("spool volume = %+v, want an emptyDir with a sizeLimit", v)
	}
	checkSpoolFits(t, r.intakeConfig, *v.EmptyDir.SizeLimit)
	if r.configMaps["intake-streams"] == nil || r.intakeConfig["stream_config"] != "/etc/intake/streams/stream-config.json" || !mounted(c, "streams", "/etc/intake/streams") {
		t.Errorf("the stream config ConfigMap is not what the edge reads: stream_config %v, mounts %v", r.intakeConfig["stream_config"], c.VolumeMounts)
	}
	if r.ingress != nil {
		t.Error("an Ingress by default")
	}
}

// TestChartSpoolOnPersistentVolumes: spool.volume=persistentVolumeClaim makes a StatefulSet whose
// pods each get a claim of their own, kept when the pod goes.
func TestChartSpoolOnPersistentVolumes(t *testing.T) {
	r := render(t, map[string]any{"spool": map[string]any{"volume": "persistentVolumeClaim", "storageClassName": "fast-ssd", "size": "20Gi", "maxBytes": int64(16) << 30}})
	tpl, c := checkCommon(t, r, true)
	if r.statefulSet == nil {
		t.Fatalf("rendered %v, want a StatefulSet", r.kinds)
	}
	ss := r.statefulSet.Spec
	if len(ss.VolumeClaimTemplates) != 1 || ss.VolumeClaimTemplates[0].Name != "spool" {
		t.Fatalf("volumeClaimTemplates = %+v, want one named spool", ss.VolumeClaimTemplates)
	}
	pvc := ss.VolumeClaimTemplates[0].Spec
	if pvc.StorageClassName == nil || *pvc.StorageClassName != "fast-ssd" {
		t.Errorf("storageClassName = %v, want fast-ssd", pvc.StorageClassName)
	}
	checkSpoolFits(t, r.intakeConfig, pvc.Resources.Requests[corev1.ResourceStorage])
	if volume(tpl, "spool") != nil {
		t.Error("the pod template has a spool volume too: it would shadow the claim")
	}
	if !mounted(c, "spool", "/var/lib/intake") {
		t.Errorf("the claim is not mounted: %v", c.VolumeMounts)
	}
	if p := ss.PersistentVolumeClaimRetentionPolicy; p == nil || p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("claim retention = %+v, want Retain (a claim may hold events not yet in Kafka)", p)
	}
	if ss.ServiceName == "" || r.services[ss.ServiceName] == nil || r.services[ss.ServiceName].Spec.ClusterIP != "None" {
		t.Errorf("serviceName %q is not a rendered headless Service", ss.ServiceName)
	}
	if ss.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy = %q, want Parallel", ss.PodManagementPolicy)
	}
}

// TestChartOptions: no spool, a fixed replica count without HPA, the stream config from a URL, an
// Ingress, a longer shutdown.
func TestChartOptions(t *testing.T) {
	r := render(t, map[string]any{
		"spool":                  map[string]any{"enabled": false},
		"autoscaling":            map[string]any{"enabled": false},
		"replicaCount":           4,
		"streamConfigURL":        "https://meta.wikimedia.org/w/api.php?action=streamconfigs&format=json",
		"ingress":                map[string]any{"enabled": true, "className": "nginx", "host": "intake.example.org"},
		"shutdownTimeoutSeconds": 120,
	})
	tpl, c := checkCommon(t, r, false)
	if r.deployment == nil || r.deployment.Spec.Replicas == nil || *r.deployment.Spec.Replicas != 4 {
		t.Errorf("want a Deployment of 4 replicas: %v", r.kinds)
	}
	if _, ok := r.intakeConfig["spool_dir"]; ok || volume(tpl, "spool") != nil || mounted(c, "spool", "/var/lib/intake") {
		t.Error("spool.enabled=false still configures a spool")
	}
	if r.intakeConfig["stream_config"] != "https://meta.wikimedia.org/w/api.php?action=streamconfigs&format=json" || r.configMaps["intake-streams"] != nil {
		t.Errorf("stream_config = %v with streamConfigURL set; ConfigMaps %v", r.intakeConfig["stream_config"], r.configMaps)
	}
	if r.intakeConfig["shutdown_timeout"] != "120s" || *tpl.Spec.TerminationGracePeriodSeconds <= 120 {
		t.Errorf("shutdown_timeout %v, grace %d", r.intakeConfig["shutdown_timeout"], *tpl.Spec.TerminationGracePeriodSeconds)
	}
	if r.ingress == nil {
		t.Fatal("no Ingress with ingress.enabled=true")
	}
	be := r.ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if be == nil || be.Name != "intake" || be.Port.Name != "http" {
		t.Errorf("the Ingress sends to %+v, want Service intake port http", be)
	}
}

// TestChartLint runs `helm lint --strict` in-process.
func TestChartLint(t *testing.T) {
	l := action.NewLint()
	l.Strict = true
	l.KubeVersion, _ = common.ParseKubeVersion(kubeVersion)
	res := l.Run([]string{chartDir}, nil)
	for _, m := range res.Messages {
		t.Logf("helm lint: %s", m)
	}
	for _, err := range res.Errors {
		t.Errorf("helm lint --strict: %v", err)
	}
}

// TestChartRefusesTypos is this test's own check: a misspelt field must fail the strict decoding.
func TestChartRefusesTypos(t *testing.T) {
	doc := "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: intake\n          readinessProbes: {}\n"
	if err := yaml.UnmarshalStrict([]byte(doc), &appsv1.Deployment{}); err == nil {
		t.Fatal("a misspelt field (readinessProbes) decoded without error: the strict decoding checks nothing")
	}
}

// checkSpoolFits: the volume holds --spool-max-bytes plus 10% (README "Spool": framing).
func checkSpoolFits(t *testing.T, cfg map[string]any, size resource.Quantity) {
	t.Helper()
	maxBytes, ok := cfg["spool_max_bytes"].(float64)
	if !ok {
		t.Fatalf("spool_max_bytes = %v (%T), want a number", cfg["spool_max_bytes"], cfg["spool_max_bytes"])
	}
	if float64(size.Value()) < maxBytes*1.1 {
		t.Errorf("the spool volume (%s) is smaller than spool_max_bytes %.0f + 10%%: the disk fills before the spool's bound", size.String(), maxBytes)
	}
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

func mounted(c *corev1.Container, vol, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == vol && m.MountPath == path {
			return true
		}
	}
	return false
}

func volume(tpl *corev1.PodTemplateSpec, name string) *corev1.Volume {
	for i := range tpl.Spec.Volumes {
		if tpl.Spec.Volumes[i].Name == name {
			return &tpl.Spec.Volumes[i]
		}
	}
	return nil
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
