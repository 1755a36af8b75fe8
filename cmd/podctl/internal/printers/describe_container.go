package printers

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Probe field defaults (R44), shown when the pod JSON leaves them unset.
const (
	defaultProbeTimeout   = 1
	defaultProbePeriod    = 10
	defaultProbeSuccesses = 1
	defaultProbeFailures  = 3
)

func writeContainers(w *prefixWriter, label string, pod *corev1.Pod, containers []corev1.Container, statuses []corev1.ContainerStatus) {
	byName := make(map[string]corev1.ContainerStatus, len(statuses))
	for _, s := range statuses {
		byName[s.Name] = s
	}
	if len(containers) == 0 {
		w.write(level0, "%s: <none>\n", label)
	} else {
		w.write(level0, "%s:\n", label)
	}
	for i := range containers {
		c := &containers[i]
		status, ok := byName[c.Name]
		w.write(level1, "%s:\n", c.Name)
		if ok {
			w.write(level2, "Container ID:\t%s\n", status.ContainerID)
		}
		w.write(level2, "Image:\t%s\n", c.Image)
		if ok {
			w.write(level2, "Image ID:\t%s\n", status.ImageID)
		}
		writePorts(w, c.Ports)
		writeCommand(w, c)
		if ok {
			writeState(w, "State", status.State)
			if status.LastTerminationState.Terminated != nil {
				writeState(w, "Last State", status.LastTerminationState)
			}
			w.write(level2, "Ready:\t%s\n", titleBool(status.Ready))
			w.write(level2, "Restart Count:\t%d\n", status.RestartCount)
		}
		writeResources(w, c.Resources)
		if c.LivenessProbe != nil {
			w.write(level2, "Liveness:\t%s\n", DescribeProbe(c.LivenessProbe))
		}
		if c.ReadinessProbe != nil {
			w.write(level2, "Readiness:\t%s\n", DescribeProbe(c.ReadinessProbe))
		}
		if c.StartupProbe != nil {
			w.write(level2, "Startup:\t%s\n", DescribeProbe(c.StartupProbe))
		}
		writeEnvFrom(w, c.EnvFrom)
		writeEnv(w, pod, c)
		writeMounts(w, c.VolumeMounts)
	}
}

func writePorts(w *prefixWriter, ports []corev1.ContainerPort) {
	var cports, hports []string
	for _, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		cports = append(cports, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		hports = append(hports, fmt.Sprintf("%d/%s", p.HostPort, proto))
	}
	if len(cports) > 1 {
		w.write(level2, "Ports:\t%s\n", strings.Join(cports, ", "))
		w.write(level2, "Host Ports:\t%s\n", strings.Join(hports, ", "))
		return
	}
	w.write(level2, "Port:\t%s\n", orNone(strings.Join(cports, "")))
	w.write(level2, "Host Port:\t%s\n", orNone(strings.Join(hports, "")))
}

func writeCommand(w *prefixWriter, c *corev1.Container) {
	writeLines := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		w.write(level2, "%s:\n", title)
		for _, item := range items {
			for _, s := range strings.Split(item, "\n") {
				w.write(level3, "%s\n", s)
			}
		}
	}
	writeLines("Command", c.Command)
	writeLines("Args", c.Args)
}

func writeState(w *prefixWriter, name string, state corev1.ContainerState) {
	switch {
	case state.Running != nil:
		w.write(level2, "%s:\tRunning\n", name)
		w.write(level3, "Started:\t%s\n", state.Running.StartedAt.Format(time.RFC1123Z))
	case state.Waiting != nil:
		w.write(level2, "%s:\tWaiting\n", name)
		if state.Waiting.Reason != "" {
			w.write(level3, "Reason:\t%s\n", state.Waiting.Reason)
		}
	case state.Terminated != nil:
		t := state.Terminated
		w.write(level2, "%s:\tTerminated\n", name)
		if t.Reason != "" {
			w.write(level3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			w.write(level3, "Message:\t%s\n", t.Message)
		}
		w.write(level3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			w.write(level3, "Signal:\t%d\n", t.Signal)
		}
		w.write(level3, "Started:\t%s\n", t.StartedAt.Format(time.RFC1123Z))
		w.write(level3, "Finished:\t%s\n", t.FinishedAt.Format(time.RFC1123Z))
	default:
		w.write(level2, "%s:\tWaiting\n", name)
	}
}

func writeResources(w *prefixWriter, r corev1.ResourceRequirements) {
	for _, part := range []struct {
		title string
		list  corev1.ResourceList
	}{{"Limits", r.Limits}, {"Requests", r.Requests}} {
		if len(part.list) == 0 {
			continue
		}
		w.write(level2, "%s:\n", part.title)
		names := make([]string, 0, len(part.list))
		for n := range part.list {
			names = append(names, string(n))
		}
		sort.Strings(names)
		for _, n := range names {
			q := part.list[corev1.ResourceName(n)]
			w.write(level3, "%s:\t%s\n", n, q.String())
		}
	}
}

// DescribeProbe formats a probe as kubectl describe does, e.g.
// "http-get http://:8080/ delay=0s timeout=1s period=10s #success=1 #failure=3".
func DescribeProbe(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		p.InitialDelaySeconds, orDefault(p.TimeoutSeconds, defaultProbeTimeout),
		orDefault(p.PeriodSeconds, defaultProbePeriod), orDefault(p.SuccessThreshold, defaultProbeSuccesses),
		orDefault(p.FailureThreshold, defaultProbeFailures))
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		scheme := strings.ToLower(string(p.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		u := &url.URL{Scheme: scheme, Host: p.HTTPGet.Host, Path: p.HTTPGet.Path}
		if port := p.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(p.HTTPGet.Host, port)
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, service, attrs)
	}
	return "unknown " + attrs
}

func writeEnvFrom(w *prefixWriter, sources []corev1.EnvFromSource) {
	if len(sources) == 0 {
		return
	}
	w.write(level2, "Environment Variables from:\n")
	for _, e := range sources {
		from, name, optional := "", "", false
		switch {
		case e.ConfigMapRef != nil:
			from, name = "ConfigMap", e.ConfigMapRef.Name
			optional = e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
		case e.SecretRef != nil:
			from, name = "Secret", e.SecretRef.Name
			optional = e.SecretRef.Optional != nil && *e.SecretRef.Optional
		}
		if e.Prefix == "" {
			w.write(level3, "%s\t%s\tOptional: %t\n", name, from, optional)
		} else {
			w.write(level3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
		}
	}
}

func writeEnv(w *prefixWriter, pod *corev1.Pod, c *corev1.Container) {
	if len(c.Env) == 0 {
		w.write(level2, "Environment:\t<none>\n")
		return
	}
	w.write(level2, "Environment:\n")
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			for i, s := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.write(level3, "%s:\t%s\n", e.Name, s)
				} else {
					w.write(level3, "\t%s\n", s)
				}
			}
		case e.ValueFrom.FieldRef != nil:
			f := e.ValueFrom.FieldRef
			w.write(level3, "%s:\t%s (%s:%s)\n", e.Name, fieldValue(pod, f.FieldPath), f.APIVersion, f.FieldPath)
		case e.ValueFrom.ResourceFieldRef != nil:
			res := e.ValueFrom.ResourceFieldRef.Resource
			w.write(level3, "%s:\t%s (%s)\n", e.Name, resourceValue(c, res), res)
		case e.ValueFrom.SecretKeyRef != nil:
			r := e.ValueFrom.SecretKeyRef
			w.write(level3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, r.Key, r.Name,
				r.Optional != nil && *r.Optional)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			w.write(level3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, r.Key, r.Name,
				r.Optional != nil && *r.Optional)
		}
	}
}

// fieldValue resolves the downward API field paths kubectl resolves.
func fieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.hostIP":
		return pod.Status.HostIP
	case "status.podIP":
		return pod.Status.PodIP
	case "status.podIPs":
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ",")
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok {
			return m[strings.TrimSuffix(key, "']")]
		}
	}
	return ""
}

// resourceValue shows a resourceFieldRef's value from the container's own
// requests and limits; unset limits read "node allocatable" as in kubectl.
func resourceValue(c *corev1.Container, res string) string {
	kind, name, ok := strings.Cut(res, ".")
	if !ok {
		return ""
	}
	list := c.Resources.Requests
	if kind == "limits" {
		list = c.Resources.Limits
	}
	if q, ok := list[corev1.ResourceName(name)]; ok {
		return q.String()
	}
	if kind == "limits" && (name == "cpu" || name == "memory") {
		return "node allocatable"
	}
	return "0"
}

func writeMounts(w *prefixWriter, mounts []corev1.VolumeMount) {
	if len(mounts) == 0 {
		w.write(level2, "Mounts:\t<none>\n")
		return
	}
	w.write(level2, "Mounts:\n")
	sorted := append([]corev1.VolumeMount(nil), mounts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MountPath < sorted[j].MountPath })
	for _, m := range sorted {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags[0] = "ro"
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		w.write(level3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

func titleBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
