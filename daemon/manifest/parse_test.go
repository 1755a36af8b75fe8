package manifest

import (
	"errors"
	"strings"
	"testing"
)

// TestParse_R1_RejectsMalformedManifests is the table of broken manifests:
// each names the field (or line, or kind) that is wrong.
func TestParse_R1_RejectsMalformedManifests(t *testing.T) {
	cases := []struct {
		name, manifest string
		want           []string // substrings of the error, in any order
	}{
		{"bad YAML syntax", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: x\n",
			[]string{"web.yaml: ", "line 5"}},
		{"bad YAML in second document names its line", pod("a", "") + "---\napiVersion: v1\nkind: Pod\nmetadata: [\n",
			[]string{"web.yaml: document 2: ", "line 1"}},
		{"tab indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n", []string{"line 4"}},
		{"bad JSON", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a",}}`, []string{"line 1", "invalid character"}},
		{"wrong kind", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: a\n",
			[]string{`kind "StatefulSet" is not supported: podd accepts ConfigMap, CronJob, DaemonSet, Deployment, Job, Namespace, PersistentVolumeClaim, Pod, Secret`}},
		{"wrong kind in document 2 of 2", pod("a", "") + "---\napiVersion: apps/v1\nkind: StatefulSet\n",
			[]string{"web.yaml: document 2: ", `kind "StatefulSet"`}},
		{"missing kind", "apiVersion: v1\nmetadata:\n  name: a\n", []string{"kind is required"}},
		{"wrong apiVersion", "apiVersion: v2\nkind: Pod\n", []string{`apiVersion "v2" is not supported`}},
		{"scalar document", "hello\n", []string{"not an object"}},
		{"misplaced restartPolicy under metadata", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  restartPolicy: Never\nspec:\n  containers: [{name: c, image: busybox}]\n",
			[]string{`unknown field "metadata.restartPolicy"`}},
		{"two unknown fields both named", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  contianers: []\n  containers: [{name: c, image: busybox, imagee: x}]\n",
			[]string{`unknown field "spec.contianers"`, `unknown field "spec.containers[0].imagee"`}},
		{"wrong case field", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  RestartPolicy: Never\n  containers: [{name: c, image: busybox}]\n",
			[]string{`unknown field "spec.RestartPolicy"`}},
		{"duplicate key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", []string{`line 5`, `already set`}},
		{"wrong type", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: [{name: c, image: busybox, ports: [{containerPort: http}]}]\n",
			[]string{"spec.containers.ports.containerPort: Invalid type: got string, want int32"}},
		{"wrong type below an embedded struct", podVol("a", "{name: v, mountPath: /d}", "{name: v, downwardAPI: {items: [{path: 7}]}}"),
			[]string{"spec.volumes.downwardAPI.items.path: Invalid type: got number, want string"}},
		{"missing name", "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c, image: busybox}]\n",
			[]string{"metadata.name: Required value"}},
		{"name with slash", pod("a/b", ""), []string{`metadata.name: Invalid value: "a/b"`}},
		{"name with dot dot", pod("a..b", ""), []string{`metadata.name: Invalid value: "a..b"`}},
		{"name too long", pod(strings.Repeat("a", 254), ""), []string{"metadata.name: Invalid value", "253"}},
		{"upper-case name", pod("Web", ""), []string{`metadata.name: Invalid value: "Web"`}},
		{"bad namespace", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: a.b\nspec:\n  containers: [{name: c, image: busybox}]\n",
			[]string{`metadata.namespace: Invalid value: "a.b"`}},
		{"bad label", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {'a b': x}\nspec:\n  containers: [{name: c, image: busybox}]\n",
			[]string{"metadata.labels: Invalid value"}},
		{"no containers", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec: {}\n", []string{"spec.containers: Required value"}},
		{"missing image", pod("a", "  - name: c\n    image: busybox\n  - name: d\n"), []string{"spec.containers[1].image: Required value"}},
		{"missing container name", pod("a", "  - image: busybox\n"), []string{"spec.containers[0].name: Required value"}},
		{"bad container name", pod("a", "  - name: Web_1\n    image: busybox\n"), []string{`spec.containers[0].name: Invalid value: "Web_1"`}},
		{"duplicate container names", pod("a", "  - {name: c, image: busybox}\n  - {name: c, image: busybox}\n"),
			[]string{`spec.containers[1].name: Duplicate value: "c"`}},
		{"duplicate name across init and app", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  initContainers: [{name: c, image: busybox}]\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.containers[0].name: Duplicate value: "c"`}},
		{"undefined volume", pod("a", "  - name: c\n    image: busybox\n    volumeMounts: [{name: data, mountPath: /data}]\n"),
			[]string{`spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"relative mountPath", podVol("a", "{name: v, mountPath: data}", "{name: v, emptyDir: {}}"),
			[]string{`spec.containers[0].volumeMounts[0].mountPath: Invalid value: "data": must be an absolute path`}},
		{"duplicate mountPath", podVol("a", "{name: v, mountPath: /d}, {name: v, mountPath: /d/}", "{name: v, emptyDir: {}}"),
			[]string{`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d/": must be unique`}},
		{"subPath escapes", podVol("a", "{name: v, mountPath: /d, subPath: ../etc}", "{name: v, emptyDir: {}}"),
			[]string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "../etc": must not contain '..'`}},
		{"absolute subPath", podVol("a", "{name: v, mountPath: /d, subPath: /etc}", "{name: v, emptyDir: {}}"),
			[]string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "/etc": must be a relative path`}},
		{"bidirectional propagation unprivileged", podVol("a", "{name: v, mountPath: /d, mountPropagation: Bidirectional}", "{name: v, emptyDir: {}}"),
			[]string{`spec.containers[0].volumeMounts[0].mountPropagation: Forbidden`}},
		{"duplicate volume", podVol("a", "{name: v, mountPath: /d}", "{name: v, emptyDir: {}}, {name: v, emptyDir: {}}"),
			[]string{`spec.volumes[1].name: Duplicate value: "v"`}},
		{"bad volume name", podVol("a", "{name: V, mountPath: /d}", "{name: V, emptyDir: {}}"),
			[]string{`spec.volumes[0].name: Invalid value: "V"`}},
		{"two volume sources", podVol("a", "{name: v, mountPath: /d}", "{name: v, emptyDir: {}, hostPath: {path: /tmp}}"),
			[]string{`spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type`}},
		{"pvc volume without claimName", podVol("a", "{name: v, mountPath: /d}", "{name: v, persistentVolumeClaim: {readOnly: true}}"),
			[]string{`spec.volumes[0].persistentVolumeClaim.claimName: Required value`}},
		{"pvc volume bad claimName", podVol("a", "{name: v, mountPath: /d}", "{name: v, persistentVolumeClaim: {claimName: Data_1}}"),
			[]string{`spec.volumes[0].persistentVolumeClaim.claimName: Invalid value: "Data_1"`}},
		{"relative hostPath", podVol("a", "{name: v, mountPath: /d}", "{name: v, hostPath: {path: tmp}}"),
			[]string{`spec.volumes[0].hostPath.path: Invalid value: "tmp": must be an absolute path`}},
		{"hostPath with dot dot", podVol("a", "{name: v, mountPath: /d}", "{name: v, hostPath: {path: /tmp/../etc}}"),
			[]string{`spec.volumes[0].hostPath.path: Invalid value: "/tmp/../etc"`}},
		{"hostPath bad type", podVol("a", "{name: v, mountPath: /d}", "{name: v, hostPath: {path: /tmp, type: Dir}}"),
			[]string{`spec.volumes[0].hostPath.type: Unsupported value: "Dir"`}},
		{"emptyDir hugepages", podVol("a", "{name: v, mountPath: /d}", "{name: v, emptyDir: {medium: HugePages}}"),
			[]string{`spec.volumes[0].emptyDir.medium: Unsupported value: "HugePages"`}},
		{"downwardAPI bad field", podVol("a", "{name: v, mountPath: /d}", "{name: v, downwardAPI: {items: [{path: x, fieldRef: {fieldPath: status.podIP}}]}}"),
			[]string{`spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: "status.podIP"`}},
		{"downwardAPI escaping path", podVol("a", "{name: v, mountPath: /d}", "{name: v, downwardAPI: {items: [{path: ../x, fieldRef: {fieldPath: metadata.name}}]}}"),
			[]string{`spec.volumes[0].downwardAPI.items[0].path: Invalid value: "../x"`}},
		{"port zero", pod("a", "  - name: c\n    image: busybox\n    ports: [{containerPort: 0}]\n"),
			[]string{"spec.containers[0].ports[0].containerPort: Required value"}},
		{"port too big", pod("a", "  - name: c\n    image: busybox\n    ports: [{containerPort: 70000}]\n"),
			[]string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000"}},
		{"port name too long", pod("a", "  - name: c\n    image: busybox\n    ports: [{name: abcdefghijklmnop, containerPort: 80}]\n"),
			[]string{`spec.containers[0].ports[0].name: Invalid value: "abcdefghijklmnop"`}},
		{"bad protocol", pod("a", "  - name: c\n    image: busybox\n    ports: [{containerPort: 80, protocol: ICMP}]\n"),
			[]string{`spec.containers[0].ports[0].protocol: Unsupported value: "ICMP"`}},
		{"duplicate hostPort across containers", pod("a", "  - {name: c, image: busybox, ports: [{containerPort: 80, hostPort: 8080}]}\n  - {name: d, image: busybox, ports: [{containerPort: 81, hostPort: 8080}]}\n"),
			[]string{`spec.containers[1].ports[0].hostPort: Duplicate value: "8080/TCP"`}},
		{"liveness successThreshold", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {exec: {command: [ok]}, successThreshold: 2}\n"),
			[]string{"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{"startup successThreshold", pod("a", "  - name: c\n    image: busybox\n    startupProbe: {exec: {command: [ok]}, successThreshold: 3}\n"),
			[]string{"spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"}},
		{"negative period", pod("a", "  - name: c\n    image: busybox\n    readinessProbe: {exec: {command: [ok]}, periodSeconds: -1}\n"),
			[]string{"spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1"}},
		{"negative initial delay", pod("a", "  - name: c\n    image: busybox\n    readinessProbe: {exec: {command: [ok]}, initialDelaySeconds: -1}\n"),
			[]string{"spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -1"}},
		{"probe without handler", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {periodSeconds: 1}\n"),
			[]string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
		{"probe with two handlers", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {exec: {command: [ok]}, tcpSocket: {port: 80}}\n"),
			[]string{"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{"probe exec without command", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {exec: {}}\n"),
			[]string{"spec.containers[0].livenessProbe.exec.command: Required value"}},
		{"probe unknown port name", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {httpGet: {port: web}}\n"),
			[]string{`spec.containers[0].livenessProbe.httpGet.port: Invalid value: "web": must name one of the container's ports`}},
		{"probe bad scheme", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {httpGet: {port: 80, scheme: FTP}}\n"),
			[]string{`spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP"`}},
		{"readiness probe grace", pod("a", "  - name: c\n    image: busybox\n    readinessProbe: {exec: {command: [ok]}, terminationGracePeriodSeconds: 3}\n"),
			[]string{"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Forbidden"}},
		{"liveness probe grace zero", pod("a", "  - name: c\n    image: busybox\n    livenessProbe: {exec: {command: [ok]}, terminationGracePeriodSeconds: 0}\n"),
			[]string{"spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0"}},
		{"hook with two handlers", pod("a", "  - name: c\n    image: busybox\n    lifecycle: {preStop: {exec: {command: [ok]}, sleep: {seconds: 1}}}\n"),
			[]string{"spec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type"}},
		{"hook without handler", pod("a", "  - name: c\n    image: busybox\n    lifecycle: {postStart: {}}\n"),
			[]string{"spec.containers[0].lifecycle.postStart: Required value"}},
		{"bad stop signal", pod("a", "  - name: c\n    image: busybox\n    lifecycle: {stopSignal: SIGFOO}\n"),
			[]string{`spec.containers[0].lifecycle.stopSignal: Invalid value: "SIGFOO"`}},
		{"R33 init container with liveness probe", initPod("{name: i, image: busybox, livenessProbe: {exec: {command: [ok]}}}"),
			[]string{"spec.initContainers[0].livenessProbe: Forbidden"}},
		{"R33 init container with readiness probe", initPod("{name: i, image: busybox, readinessProbe: {exec: {command: [ok]}}}"),
			[]string{"spec.initContainers[0].readinessProbe: Forbidden"}},
		{"R33 init container with startup probe", initPod("{name: i, image: busybox, startupProbe: {exec: {command: [ok]}}}"),
			[]string{"spec.initContainers[0].startupProbe: Forbidden"}},
		{"R33 init container with lifecycle", initPod("{name: i, image: busybox, lifecycle: {preStop: {exec: {command: [ok]}}}}"),
			[]string{"spec.initContainers[0].lifecycle: Forbidden"}},
		{"container restartPolicy on app container", pod("a", "  - {name: c, image: busybox, restartPolicy: Always}\n"),
			[]string{"spec.containers[0].restartPolicy: Forbidden: may only be set for init containers"}},
		{"init container restartPolicy Never", initPod("{name: i, image: busybox, restartPolicy: Never}"),
			[]string{`spec.initContainers[0].restartPolicy: Unsupported value: "Never"`}},
		{"bad pod restartPolicy", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  restartPolicy: Sometimes\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes"`}},
		{"requests above limits", pod("a", "  - name: c\n    image: busybox\n    resources: {requests: {cpu: 2}, limits: {cpu: 1}}\n"),
			[]string{`spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1`}},
		{"bad quantity", pod("a", "  - name: c\n    image: busybox\n    resources: {limits: {memory: 12zz}}\n"),
			[]string{`spec.containers[0].resources.limits[memory]: Invalid value: "12zz": quantities must match`}},
		{"negative quantity", pod("a", "  - name: c\n    image: busybox\n    resources: {limits: {memory: -1}}\n"),
			[]string{`spec.containers[0].resources.limits[memory]: Invalid value: "-1"`}},
		{"extended resource", pod("a", "  - name: c\n    image: busybox\n    resources: {limits: {nvidia.com/gpu: 1}}\n"),
			[]string{`spec.containers[0].resources.limits[nvidia.com/gpu]: Unsupported value`}},
		{"hugepages", pod("a", "  - name: c\n    image: busybox\n    resources: {limits: {hugepages-2Mi: 2Mi, memory: 1Gi}}\n"),
			[]string{`spec.containers[0].resources.limits[hugepages-2Mi]: Forbidden`}},
		{"dnsPolicy None without nameservers", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  dnsPolicy: None\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.dnsConfig.nameservers: Required value"}},
		{"bad nameserver", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  dnsPolicy: None\n  dnsConfig: {nameservers: [dns]}\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.dnsConfig.nameservers[0]: Invalid value: "dns"`}},
		{"bad dnsPolicy", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  dnsPolicy: Cluster\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.dnsPolicy: Unsupported value: "Cluster"`}},
		{"bad fieldRef path", pod("a", "  - name: c\n    image: busybox\n    env: [{name: X, valueFrom: {fieldRef: {fieldPath: spec.hostname}}}]\n"),
			[]string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.hostname"`}},
		{"whole labels in env", pod("a", "  - name: c\n    image: busybox\n    env: [{name: X, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}]\n"),
			[]string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels"`}},
		{"bad resourceFieldRef", pod("a", "  - name: c\n    image: busybox\n    env: [{name: X, valueFrom: {resourceFieldRef: {resource: limits.gpu}}}]\n"),
			[]string{`spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu"`}},
		{"value and valueFrom", pod("a", "  - name: c\n    image: busybox\n    env: [{name: X, value: v, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n"),
			[]string{"spec.containers[0].env[0].valueFrom: Invalid value"}},
		{"bad env name", pod("a", "  - name: c\n    image: busybox\n    env: [{name: '1X', value: v}]\n"),
			[]string{`spec.containers[0].env[0].name: Invalid value: "1X"`}},
		{"ephemeral containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: c, image: busybox}]\n  ephemeralContainers: [{name: e, image: busybox}]\n",
			[]string{"spec.ephemeralContainers: Forbidden"}},
		{"shareProcessNamespace with hostPID", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostPID: true\n  shareProcessNamespace: true\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.shareProcessNamespace: Invalid value: true"}},
		{"hostNetwork hostPort mismatch", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: busybox, ports: [{containerPort: 80, hostPort: 81}]}]\n",
			[]string{"spec.containers[0].ports[0].hostPort: Invalid value: 81: must match containerPort"}},
		{"host sysctl", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  securityContext: {sysctls: [{name: vm.swappiness, value: '1'}]}\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.securityContext.sysctls[0].name: Forbidden"}},
		{"net sysctl with hostNetwork", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostNetwork: true\n  securityContext: {sysctls: [{name: net.ipv4.ip_forward, value: '1'}]}\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.securityContext.sysctls[0].name: Forbidden: net sysctls may not be set with hostNetwork"}},
		{"negative runAsUser", pod("a", "  - name: c\n    image: busybox\n    securityContext: {runAsUser: -1}\n"),
			[]string{"spec.containers[0].securityContext.runAsUser: Invalid value: -1"}},
		{"no privilege escalation but privileged", pod("a", "  - name: c\n    image: busybox\n    securityContext: {privileged: true, allowPrivilegeEscalation: false}\n"),
			[]string{"spec.containers[0].securityContext: Invalid value"}},
		{"unmasked procMount", pod("a", "  - name: c\n    image: busybox\n    securityContext: {procMount: Unmasked}\n"),
			[]string{`spec.containers[0].securityContext.procMount: Unsupported value: "Unmasked"`}},
		{"bad hostname", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostname: a.b\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.hostname: Invalid value: "a.b"`}},
		{"runtimeClassName", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  runtimeClassName: gvisor\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.runtimeClassName: Forbidden"}},
		{"windows pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  os: {name: windows}\n  containers: [{name: c, image: busybox}]\n",
			[]string{`spec.os.name: Unsupported value: "windows"`}},
		{"hostUsers false", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostUsers: false\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.hostUsers: Forbidden: this podd gives pods no user namespace"}},
		{"negative grace", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  terminationGracePeriodSeconds: -1\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.terminationGracePeriodSeconds: Invalid value: -1"}},
		{"zero activeDeadlineSeconds", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  activeDeadlineSeconds: 0\n  containers: [{name: c, image: busybox}]\n",
			[]string{"spec.activeDeadlineSeconds: Invalid value: 0"}},
		{"bad pull policy", pod("a", "  - {name: c, image: busybox, imagePullPolicy: Sometimes}\n"),
			[]string{`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes"`}},
		{"relative workingDir", pod("a", "  - {name: c, image: busybox, workingDir: tmp}\n"),
			[]string{`spec.containers[0].workingDir: Invalid value: "tmp"`}},
		{"volumeDevices", pod("a", "  - {name: c, image: busybox, volumeDevices: [{name: v, devicePath: /dev/x}]}\n"),
			[]string{"spec.containers[0].volumeDevices: Forbidden"}},
		{"same pod twice in one file", pod("a", "") + "---\n" + pod("a", ""),
			[]string{"web.yaml: document 2: ", `metadata.name: Duplicate value`}},
		{"second document invalid rejects the first too", pod("a", "") + "---\n" + pod("b", "  - name: c\n"),
			[]string{"web.yaml: document 2: ", `pod "b": spec.containers[0].image: Required value`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods, warns, err := Parse([]byte(tc.manifest), "web.yaml", Policy{})
			if err == nil {
				t.Fatalf("Parse accepted the manifest (%d pods, warnings %q), want error with %q", len(pods), warns, tc.want)
			}
			if pods != nil || warns != nil {
				t.Errorf("Parse returned pods or warnings with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "web.yaml: ") {
				t.Errorf("error %q does not name the source", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %s\nwant it to contain\n  %s", err, w)
				}
			}
		})
	}
}

func pod(name, containers string) string {
	if containers == "" {
		containers = "  - name: c\n    image: busybox\n"
	}
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  containers:\n" + containers
}

func podVol(name, mounts, volumes string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  volumes: [" + volumes +
		"]\n  containers:\n  - name: c\n    image: busybox\n    volumeMounts: [" + mounts + "]\n"
}

func initPod(init string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  initContainers: [" + init + "]\n  containers: [{name: c, image: busybox}]\n"
}
