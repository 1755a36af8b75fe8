package manifest

import (
	"strings"
	"testing"
)

// fullPod uses every field podd honours; it must be accepted as is.
const fullPod = `apiVersion: v1
kind: Pod
metadata:
  name: web.v1
  namespace: shop
  labels: {app: web, tier: front}
  annotations: {note: hello}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 5
  activeDeadlineSeconds: 600
  hostname: web
  subdomain: svc
  shareProcessNamespace: true
  dnsPolicy: None
  dnsConfig: {nameservers: [1.1.1.1, "::1"], searches: [example.com], options: [{name: ndots, value: "2"}]}
  hostAliases: [{ip: 10.0.0.1, hostnames: [db.local]}]
  securityContext:
    runAsUser: 1000
    runAsGroup: 1000
    supplementalGroups: [10]
    fsGroup: 2000
    sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}, {name: kernel.shm_rmid_forced, value: "1"}]
  volumes:
  - {name: data, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: host, hostPath: {path: /var/log, type: Directory}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: sub/name, fieldRef: {fieldPath: "metadata.labels['app']"}, mode: 0600}
      - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
  initContainers:
  - {name: setup, image: busybox, command: [sh, -c, "echo 1 > /data/x"], volumeMounts: [{name: data, mountPath: /data}]}
  - name: proxy
    image: busybox
    restartPolicy: Always
    startupProbe: {tcpSocket: {port: 9000}, failureThreshold: 30, periodSeconds: 1}
    readinessProbe: {exec: {command: [ok]}}
    lifecycle: {preStop: {sleep: {seconds: 1}}}
  containers:
  - name: app
    image: registry.local:5000/app:1.0
    command: [/app]
    args: [--port, $(PORT)]
    workingDir: /srv
    ports: [{name: http, containerPort: 8080, hostPort: 18080}, {containerPort: 53, protocol: UDP, hostPort: 18080}]
    env:
    - {name: PORT, value: "8080"}
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: "1", memory: 64Mi}}
    volumeMounts:
    - {name: data, mountPath: /data, subPath: app}
    - {name: host, mountPath: /host, readOnly: true, recursiveReadOnly: Enabled}
    - {name: info, mountPath: /etc/podinfo}
    - {name: mem, mountPath: /cache, subPathExpr: $(POD)}
    livenessProbe: {httpGet: {port: http, path: /healthz, httpHeaders: [{name: X-Probe, value: "1"}]}, terminationGracePeriodSeconds: 2}
    readinessProbe: {grpc: {port: 9090}, successThreshold: 2}
    lifecycle:
      postStart: {httpGet: {port: 8080}}
      preStop: {exec: {command: [sh, -c, "kill 1"]}}
      stopSignal: SIGQUIT
    securityContext:
      runAsUser: 0
      runAsNonRoot: false
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {add: [NET_ADMIN], drop: [ALL]}
  - {name: side, image: busybox, stdin: true, tty: true}
`

func TestValidate_R1_AcceptsEverySupportedField(t *testing.T) {
	pods, warns, err := Parse([]byte(fullPod), "full.yaml", Policy{})
	if err != nil {
		t.Fatalf("Parse rejected a valid pod: %v", err)
	}
	if len(pods) != 1 || pods[0].Namespace != "shop" {
		t.Fatalf("got %d pods", len(pods))
	}
	if len(warns) != 0 {
		t.Errorf("unexpected warnings %q", warns)
	}
}

func TestValidate_R2_NameLimits(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{strings.Repeat("a", 253), true},
		{strings.Repeat("a", 63) + "." + strings.Repeat("b", 63), true},
		{"a.b-c", true},
		{"-a", false},
		{"a_b", false},
		{"a/b", false},
		{"..", false},
	}
	for _, tc := range cases {
		_, _, err := Parse([]byte(pod(tc.name, "")), "n.yaml", Policy{})
		if (err == nil) != tc.ok {
			t.Errorf("pod name %q: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	long := strings.Repeat("c", 64)
	_, _, err := Parse([]byte(pod("a", "  - {name: "+long+", image: busybox}\n")), "n.yaml", Policy{})
	if err == nil || !strings.Contains(err.Error(), "spec.containers[0].name: Invalid value") {
		t.Errorf("64-char container name: err = %v", err)
	}
}

func TestValidate_R34_SidecarMayHaveProbesAndHooks(t *testing.T) {
	m := initPod("{name: s, image: busybox, restartPolicy: Always, livenessProbe: {exec: {command: [ok]}}, " +
		"readinessProbe: {exec: {command: [ok]}}, startupProbe: {exec: {command: [ok]}}, lifecycle: {postStart: {exec: {command: [ok]}}}}")
	if _, _, err := Parse([]byte(m), "s.yaml", Policy{}); err != nil {
		t.Fatalf("sidecar rejected: %v", err)
	}
}

func TestValidate_PersistentVolumeClaimVolume(t *testing.T) {
	m := podVol("a", "{name: v, mountPath: /d}, {name: r, mountPath: /r, subPath: sub}",
		"{name: v, persistentVolumeClaim: {claimName: data}}, {name: r, persistentVolumeClaim: {claimName: data.v1, readOnly: true}}")
	pods, _, err := Parse([]byte(m), "pvc.yaml", Policy{})
	if err != nil {
		t.Fatalf("pod with claim volumes rejected: %v", err)
	}
	if c := pods[0].Spec.Volumes[1].PersistentVolumeClaim; c == nil || c.ClaimName != "data.v1" || !c.ReadOnly {
		t.Errorf("claim volume = %+v", c)
	}
}
