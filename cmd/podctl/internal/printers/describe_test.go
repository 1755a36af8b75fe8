package printers

import (
	"strings"
	"testing"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func samplePod() *corev1.Pod {
	prio := int32(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "default", UID: "u1",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{lastAppliedAnnotation: "{}", "note": "hello"},
		},
		Spec: corev1.PodSpec{
			Priority: &prio,
			NodeName: "node1",
			InitContainers: []corev1.Container{{
				Name: "setup", Image: "busybox", Command: []string{"sh", "-c", "echo 1 >> /data/f"},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Containers: []corev1.Container{{
				Name:  "httpd",
				Image: "busybox:latest",
				Args:  []string{"httpd", "-f", "-p", "8080"},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "GREETING", Value: "hi"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: "/", Port: intstr.FromInt32(8080)}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
					Command: []string{"test", "-f", "/tmp/ready"}}}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceMemory: resource.MustParse("64Mi")}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/www", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
		Status: corev1.PodStatus{
			Phase:     corev1.PodRunning,
			QOSClass:  corev1.PodQOSBurstable,
			HostIP:    "192.168.1.10",
			PodIP:     "10.88.0.5",
			PodIPs:    []corev1.PodIP{{IP: "10.88.0.5"}},
			StartTime: ptr(ago(10 * time.Minute)),
			Conditions: []corev1.PodCondition{
				condition(corev1.PodInitialized, true), condition(corev1.PodReady, true)},
			InitContainerStatuses: []corev1.ContainerStatus{{
				Name: "setup", ContainerID: "podd://setup-0", State: terminated(0, "Completed")}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "httpd", ContainerID: "podd://httpd-1", ImageID: "sha256:abc", Ready: true, RestartCount: 1,
				State: running(),
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Signal: 9, Reason: "Error", StartedAt: ago(5 * time.Minute), FinishedAt: ago(2 * time.Minute)}},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// fieldsOf collapses runs of blanks so lines compare regardless of the
// tab writer's padding.
func fieldsOf(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

func TestDescribePod(t *testing.T) {
	pod := samplePod()
	events := []*poddv1.Event{
		{Type: "Warning", Reason: "BackOff", Object: "spec.containers{httpd}", Count: 3,
			Message:                "Back-off restarting failed container httpd in pod web",
			FirstTimestampUnixNano: testNow.Add(-10 * time.Second).UnixNano(), LastTimestampUnixNano: testNow.Add(-5 * time.Second).UnixNano()},
		{Type: "Normal", Reason: "Scheduled", Count: 1, Message: "Successfully assigned default/web to node1",
			FirstTimestampUnixNano: testNow.Add(-10 * time.Minute).UnixNano(), LastTimestampUnixNano: testNow.Add(-10 * time.Minute).UnixNano()},
	}
	var b strings.Builder
	err := DescribePod(&b, PodDescription{Pod: pod, StaticSource: "/etc/podd/manifests/web.yaml", Events: events, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	got := strings.Join(fieldsOf(out), "\n")
	start := pod.Status.StartTime.Format(time.RFC1123Z)
	for _, want := range []string{
		"Name: web",
		"Namespace: default",
		"Priority: 0",
		"Node: node1/192.168.1.10",
		"Start Time: " + start,
		"Labels: app=web\ntier=front",
		"Annotations: note: hello",
		"Status: Running",
		"IP: 10.88.0.5\nIPs:\nIP: 10.88.0.5",
		"Static: /etc/podd/manifests/web.yaml",
		"Init Containers:\nsetup:\nContainer ID: podd://setup-0\nImage: busybox",
		"Command:\nsh\n-c\necho 1 >> /data/f\nState: Terminated\nReason: Completed\nExit Code: 0",
		"Containers:\nhttpd:",
		"Port: 8080/TCP\nHost Port: 0/TCP\nArgs:\nhttpd\n-f\n-p\n8080",
		"State: Running\nStarted: " + ago(time.Minute).Format(time.RFC1123Z),
		"Last State: Terminated\nReason: Error\nExit Code: 137\nSignal: 9",
		"Ready: True\nRestart Count: 1\nLimits:\nmemory: 64Mi",
		"Liveness: http-get http://:8080/ delay=0s timeout=1s period=10s #success=1 #failure=3",
		"Readiness: exec [test -f /tmp/ready] delay=0s timeout=1s period=1s #success=1 #failure=3",
		"Environment:\nGREETING: hi\nPOD: web (v1:metadata.name)",
		"Mounts:\n/www from data (ro)",
		"Conditions:\nType Status\nInitialized True\nReady True",
		"Volumes:\ndata:\nType: EmptyDir (a temporary directory that shares a pod's lifetime)\nMedium:\nSizeLimit: <unset>",
		"QoS Class: Burstable",
		"Node-Selectors: <none>\nTolerations: <none>",
		"Events:\nType Reason Age From Message\n---- ------ ---- ---- -------\n" +
			"Normal Scheduled 10m podd Successfully assigned default/web to node1\n" +
			"Warning BackOff 5s (x3 over 10s) podd Back-off restarting failed container httpd in pod web",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe output lacks\n%s\n--- output:\n%s", want, out)
		}
	}
	if strings.Contains(out, lastAppliedAnnotation) {
		t.Errorf("describe shows the last-applied annotation")
	}
	// Values of one block share a column, as kubectl's tab writer lays them.
	lines := strings.Split(out, "\n")
	if col := strings.Index(lines[0], "web"); col != strings.Index(lines[1], "default") || col < len("Namespace:") {
		t.Errorf("Name and Namespace values not aligned:\n%s\n%s", lines[0], lines[1])
	}
}

func TestDescribePod_TerminatingAndNoEvents(t *testing.T) {
	pod := samplePod()
	del := ago(7 * time.Second)
	pod.DeletionTimestamp = &del
	pod.DeletionGracePeriodSeconds = ptr(int64(30))
	pod.Status.Reason, pod.Status.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
	var b strings.Builder
	if err := DescribePod(&b, PodDescription{Pod: pod, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(fieldsOf(b.String()), "\n")
	for _, want := range []string{
		"Status: Terminating (lasts 7s)\nTermination Grace Period: 30s",
		"Reason: DeadlineExceeded\nMessage: Pod was active on the node longer than the specified deadline",
		"Events: <none>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDescribeProbe(t *testing.T) {
	svc := "health"
	tests := []struct {
		probe corev1.Probe
		want  string
	}{
		{corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9000)}},
			InitialDelaySeconds: 2, PeriodSeconds: 1, FailureThreshold: 2},
			"tcp-socket :9000 delay=2s timeout=1s period=1s #success=1 #failure=2"},
		{corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS,
			Host: "127.0.0.1", Path: "/healthz", Port: intstr.FromString("http")}}},
			"http-get https://127.0.0.1:http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3"},
		{corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 50051, Service: &svc}}},
			"grpc <pod>:50051 health delay=0s timeout=1s period=10s #success=1 #failure=3"},
	}
	for _, tt := range tests {
		if got := DescribeProbe(&tt.probe); got != tt.want {
			t.Errorf("DescribeProbe = %q, want %q", got, tt.want)
		}
	}
}

// describe prints the daemon's QoS class as it is, and computes none.
func TestDescribePrintsServerQOSClass(t *testing.T) {
	guaranteed := corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
	for _, tc := range []struct {
		status corev1.PodQOSClass
		want   string
	}{
		{corev1.PodQOSBurstable, "Burstable"},
		{corev1.PodQOSGuaranteed, "Guaranteed"},
		{"", "<unknown>"},
	} {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Resources: guaranteed}}},
			Status: corev1.PodStatus{QOSClass: tc.status}}
		if got := qosClass(p); got != tc.want {
			t.Errorf("status %q: describe prints %q, want %q", tc.status, got, tc.want)
		}
	}
}

func TestEventRow(t *testing.T) {
	e := &poddv1.Event{Namespace: "ns1", Pod: "web", Type: "Warning", Reason: "Unhealthy",
		Object: "spec.containers{httpd}", Message: "Liveness probe failed: 404\n", Count: 2,
		FirstTimestampUnixNano: testNow.Add(-time.Minute).UnixNano(), LastTimestampUnixNano: testNow.Add(-3 * time.Second).UnixNano()}
	got := EventRow(e, testNow, true)
	want := []string{"ns1", "3s (x2 over 60s)", "Warning", "Unhealthy", "pod/web/httpd", "Liveness probe failed: 404"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("EventRow = %q, want %q", got, want)
	}
	e.Object, e.Count = "", 1
	if got := EventRow(e, testNow, false); got[0] != "60s" || got[3] != "pod/web" {
		t.Errorf("EventRow of a pod event = %q", got)
	}
}
