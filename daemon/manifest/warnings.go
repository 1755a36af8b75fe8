package manifest

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Warnings names the fields of a pod that podd accepts but does not act on,
// one message each (`spec.nodeSelector is ignored: ...`). Fields that would
// change how the pod runs and that podd cannot honour are Validate errors
// instead, never warnings: seccomp profiles are applied, AppArmor profiles
// and SELinux labels are refused (validate_security.go).
func Warnings(pod *corev1.Pod) []string {
	var w warnings
	s := &pod.Spec
	p := field.NewPath("spec")
	const noScheduling = "podd runs every pod on this node and does no scheduling"
	w.add(len(s.NodeSelector) > 0, p.Child("nodeSelector"), noScheduling)
	w.add(s.NodeName != "", p.Child("nodeName"), noScheduling)
	w.add(s.Affinity != nil, p.Child("affinity"), noScheduling)
	w.add(len(s.Tolerations) > 0, p.Child("tolerations"), noScheduling)
	w.add(len(s.TopologySpreadConstraints) > 0, p.Child("topologySpreadConstraints"), noScheduling)
	w.add(s.SchedulerName != "" && s.SchedulerName != corev1.DefaultSchedulerName, p.Child("schedulerName"), noScheduling)
	w.add(s.PriorityClassName != "", p.Child("priorityClassName"), noScheduling)
	w.add(s.Priority != nil, p.Child("priority"), noScheduling)
	w.add(s.PreemptionPolicy != nil, p.Child("preemptionPolicy"), noScheduling)
	w.add(len(s.SchedulingGates) > 0, p.Child("schedulingGates"), noScheduling)
	w.add(s.SchedulingGroup != nil, p.Child("schedulingGroup"), noScheduling)
	w.add(len(s.EvictionResponders) > 0, p.Child("evictionResponders"), "podd has no eviction API")
	w.add(len(s.Overhead) > 0, p.Child("overhead"), "podd accounts no pod overhead")
	const noToken = "podd mounts no service account token"
	w.add(s.ServiceAccountName != "", p.Child("serviceAccountName"), noToken)
	w.add(s.DeprecatedServiceAccount != "" && s.ServiceAccountName == "", p.Child("serviceAccount"), noToken)
	w.add(s.AutomountServiceAccountToken != nil && *s.AutomountServiceAccountToken, p.Child("automountServiceAccountToken"), noToken)
	w.add(len(s.ReadinessGates) > 0, p.Child("readinessGates"), "Ready follows ContainersReady on a single node (R63)")
	if sc := s.SecurityContext; sc != nil {
		sp := p.Child("securityContext")
		w.add(sc.WindowsOptions != nil, sp.Child("windowsOptions"), "podd runs Linux containers only")
		w.add(sc.SELinuxChangePolicy != nil, sp.Child("seLinuxChangePolicy"), "podd applies no SELinux labels")
		w.add(sc.FSGroupChangePolicy != nil, sp.Child("fsGroupChangePolicy"), "podd sets fsGroup on emptyDir volumes only")
	}
	for i := range s.Volumes {
		v := &s.Volumes[i]
		if v.EmptyDir != nil && v.EmptyDir.Medium != corev1.StorageMediumMemory && v.EmptyDir.SizeLimit != nil {
			w.add(true, p.Child("volumes").Index(i).Child("emptyDir", "sizeLimit"), "not enforced for disk-backed emptyDir volumes")
		}
	}
	for i := range s.InitContainers {
		w.container(&s.InitContainers[i], p.Child("initContainers").Index(i))
	}
	for i := range s.Containers {
		w.container(&s.Containers[i], p.Child("containers").Index(i))
	}
	return w
}

type warnings []string

func (w *warnings) add(cond bool, p *field.Path, why string) {
	if cond {
		*w = append(*w, p.String()+" is ignored: "+why)
	}
}

func (w *warnings) container(c *corev1.Container, p *field.Path) {
	if sc := c.SecurityContext; sc != nil {
		w.add(sc.WindowsOptions != nil, p.Child("securityContext", "windowsOptions"), "podd runs Linux containers only")
	}
	const noStorage = "podd does not enforce ephemeral-storage"
	_, lim := c.Resources.Limits[corev1.ResourceEphemeralStorage]
	_, req := c.Resources.Requests[corev1.ResourceEphemeralStorage]
	w.add(lim, p.Child("resources", "limits").Key(string(corev1.ResourceEphemeralStorage)), noStorage)
	w.add(req && !lim, p.Child("resources", "requests").Key(string(corev1.ResourceEphemeralStorage)), noStorage)
	w.add(len(c.ResizePolicy) > 0, p.Child("resizePolicy"), "podd does not resize containers in place")
	if l := c.Lifecycle; l != nil {
		const noop = "a tcpSocket hook does nothing (R53)"
		w.add(l.PostStart != nil && l.PostStart.TCPSocket != nil, p.Child("lifecycle", "postStart", "tcpSocket"), noop)
		w.add(l.PreStop != nil && l.PreStop.TCPSocket != nil, p.Child("lifecycle", "preStop", "tcpSocket"), noop)
	}
}
