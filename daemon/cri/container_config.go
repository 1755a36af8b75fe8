package cri

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/spec"
)

// unsupported is an Unimplemented status error naming what podd lacks.
func unsupported(format string, args ...any) error {
	return status.Errorf(codes.Unimplemented, format, args...)
}

// containerSpec translates a CreateContainer request for sandbox sb. A
// field podd cannot honour is an InvalidArgument or Unimplemented error
// naming it. Masked and read-only paths are exactly the request's (none
// when it sends none), as containerd has them. Accepted and left to podd's
// defaults: SELinux relabel (no SELinux here), memory swap (no swap
// accounting) and zero hugepage limits (the kubelet sends one per page
// size).
func containerSpec(req *runtimeapi.CreateContainerRequest, sb Sandbox, host Features) (ContainerSpec, error) {
	cfg := req.GetConfig()
	md := cfg.GetMetadata()
	if md.GetName() == "" {
		return ContainerSpec{}, invalid("config.metadata.name is required")
	}
	if cfg.GetImage().GetImage() == "" {
		return ContainerSpec{}, invalid("config.image.image is required")
	}
	if cfg.GetWindows() != nil {
		return ContainerSpec{}, invalid("config.windows: podd runs Linux containers only")
	}
	if len(cfg.GetCDIDevices()) > 0 {
		return ContainerSpec{}, unsupported("config.CDI_devices: podd does not support CDI devices")
	}
	cs := ContainerSpec{
		SandboxID: req.GetPodSandboxId(), Name: md.GetName(), Attempt: md.GetAttempt(),
		Image: cfg.GetImage().GetImage(), Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
	}
	if lp := cfg.GetLogPath(); lp != "" {
		cs.LogPath = filepath.Join(sb.config().GetLogDirectory(), lp)
		if !filepath.IsAbs(cs.LogPath) {
			return ContainerSpec{}, invalid("config.log_path %q: with the sandbox's log_directory %q it is not an absolute path", lp, sb.config().GetLogDirectory())
		}
	}
	p := spec.CRIInput{
		Command: cfg.GetCommand(), Args: cfg.GetArgs(), WorkingDir: cfg.GetWorkingDir(),
		TTY: cfg.GetTty(), Stdin: cfg.GetStdin(), Labels: cfg.GetLabels(),
	}
	for _, kv := range cfg.GetEnvs() {
		p.Env = append(p.Env, corev1.EnvVar{Name: kv.GetKey(), Value: string(kv.GetValue())})
	}
	for i, d := range cfg.GetDevices() {
		if !filepath.IsAbs(d.GetHostPath()) || !filepath.IsAbs(d.GetContainerPath()) {
			return ContainerSpec{}, invalid("config.devices[%d]: host_path %q and container_path %q must be absolute", i, d.GetHostPath(), d.GetContainerPath())
		}
		if strings.Trim(d.GetPermissions(), "rwm") != "" {
			return ContainerSpec{}, invalid("config.devices[%d].permissions %q: only r, w and m", i, d.GetPermissions())
		}
		p.Devices = append(p.Devices, &shimv1.Device{HostPath: d.GetHostPath(), ContainerPath: d.GetContainerPath(), Permissions: d.GetPermissions()})
	}
	for i, m := range cfg.GetMounts() {
		mt, err := containerMount(i, m, host)
		if err != nil {
			return ContainerSpec{}, err
		}
		if mt.IDMap, err = mountIDMap(m, sb, func(f string) string { return "config.mounts[" + itoa(i) + "]." + f }); err != nil {
			return ContainerSpec{}, err
		}
		p.Mounts = append(p.Mounts, mt)
	}
	if err := containerResources(cfg.GetLinux().GetResources(), &p); err != nil {
		return ContainerSpec{}, err
	}
	if err := containerSecurity(cfg.GetLinux().GetSecurityContext(), &p); err != nil {
		return ContainerSpec{}, err
	}
	if err := containerUserNamespace(cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(), sb, &p); err != nil {
		return ContainerSpec{}, err
	}
	var err error
	if cs.Config, err = proto.Marshal(cfg); err != nil {
		return ContainerSpec{}, invalid("config: %v", err)
	}
	cs.Process = p
	return cs, nil
}

func containerMount(i int, m *runtimeapi.Mount, host Features) (spec.CRIMount, error) {
	field := func(f string) string { return "config.mounts[" + itoa(i) + "]." + f }
	if m.GetImage().GetImage() != "" {
		return imageMount(m, field)
	}
	if m.GetImageSubPath() != "" {
		return spec.CRIMount{}, invalid("%s is set without an image", field("image_sub_path"))
	}
	if err := recursiveReadOnly(m, host, field); err != nil {
		return spec.CRIMount{}, err
	}
	if !filepath.IsAbs(m.GetContainerPath()) {
		return spec.CRIMount{}, invalid("%s %q must be absolute", field("container_path"), m.GetContainerPath())
	}
	if !filepath.IsAbs(m.GetHostPath()) {
		return spec.CRIMount{}, invalid("%s %q must be absolute", field("host_path"), m.GetHostPath())
	}
	mt := spec.CRIMount{HostPath: m.GetHostPath(), ContainerPath: m.GetContainerPath(), ReadOnly: m.GetReadonly(),
		RecursiveReadOnly: m.GetRecursiveReadOnly()}
	switch m.GetPropagation() {
	case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		mt.Propagation = "private"
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		mt.Propagation = "rslave"
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		mt.Propagation = "rshared"
	default:
		return spec.CRIMount{}, invalid("%s %v is unknown", field("propagation"), m.GetPropagation())
	}
	return mt, nil
}

// imageMount reads an image volume: an image (stored already: the client
// pulls it) mounted read-only, whole or its image_sub_path, in place of a
// host path, with private propagation.
func imageMount(m *runtimeapi.Mount, field func(string) string) (spec.CRIMount, error) {
	switch sub := m.GetImageSubPath(); {
	case !m.GetReadonly():
		return spec.CRIMount{}, invalid("%s: an image volume is read-only: readonly must be true", field("readonly"))
	case m.GetHostPath() != "":
		return spec.CRIMount{}, invalid("%s %q: an image volume has no host path", field("host_path"), m.GetHostPath())
	case m.GetImage().GetRuntimeHandler() != "":
		return spec.CRIMount{}, invalid("%s %q: podd has only the default runtime handler", field("image.runtime_handler"), m.GetImage().GetRuntimeHandler())
	case m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		return spec.CRIMount{}, invalid("%s %s: an image volume has private propagation", field("propagation"), m.GetPropagation())
	case !filepath.IsAbs(m.GetContainerPath()):
		return spec.CRIMount{}, invalid("%s %q must be absolute", field("container_path"), m.GetContainerPath())
	case filepath.IsAbs(sub) || hasDotDot(sub):
		return spec.CRIMount{}, invalid("%s %q must be a relative path without \"..\"", field("image_sub_path"), sub)
	}
	mt := spec.CRIMount{Image: m.GetImage().GetImage(), ContainerPath: m.GetContainerPath(), ReadOnly: true, Propagation: "private"}
	if sub := m.GetImageSubPath(); sub != "" {
		mt.ImageSubPath = filepath.Clean(sub)
	}
	return mt, nil
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	return slices.Contains(strings.Split(p, "/"), "..")
}

// recursiveReadOnly checks a recursive read-only mount as the kubelet and
// containerd do: it must be read-only with private propagation, on a host
// that can make one.
func recursiveReadOnly(m *runtimeapi.Mount, host Features, field func(string) string) error {
	switch {
	case !m.GetRecursiveReadOnly():
		return nil
	case !m.GetReadonly():
		return invalid("%s: a recursive read-only mount must be read-only (readonly is false)", field("recursive_read_only"))
	case m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		return invalid("%s: a recursive read-only mount must have private propagation, not %s", field("recursive_read_only"), m.GetPropagation())
	case !host.RecursiveReadOnlyMounts:
		return unsupported("%s: this kernel cannot make mounts recursively read-only (mount_setattr, Linux 5.12+)", field("recursive_read_only"))
	}
	return nil
}

// containerResources reads the cgroup values podd applies: CPU shares,
// quota and period, memory limit and OOM score adjustment.
func containerResources(r *runtimeapi.LinuxContainerResources, p *spec.CRIInput) error {
	if r == nil {
		p.Resources = &shimv1.Resources{}
		return nil
	}
	if err := unsupportedResources(r, "config.linux.resources"); err != nil {
		return err
	}
	p.Resources = &shimv1.Resources{
		CpuShares: uint64(max(0, r.GetCpuShares())), CpuQuotaUs: max(0, r.GetCpuQuota()),
		CpuPeriodUs: uint64(max(0, r.GetCpuPeriod())), MemoryLimitBytes: max(0, r.GetMemoryLimitInBytes()),
	}
	p.OOMScoreAdj = int32(r.GetOomScoreAdj())
	return nil
}

// unsupportedResources refuses the resources podd cannot set.
func unsupportedResources(r *runtimeapi.LinuxContainerResources, field string) error {
	if r.GetCpusetCpus() != "" {
		return unsupported("%s.cpuset_cpus: podd does not pin containers to CPUs", field)
	}
	if r.GetCpusetMems() != "" {
		return unsupported("%s.cpuset_mems: podd does not pin containers to memory nodes", field)
	}
	for _, h := range r.GetHugepageLimits() {
		if h.GetLimit() != 0 {
			return unsupported("%s.hugepage_limits: podd does not limit huge pages (%s)", field, h.GetPageSize())
		}
	}
	if len(r.GetUnified()) > 0 {
		return unsupported("%s.unified: podd does not set cgroup v2 values", field)
	}
	return nil
}

// containerSecurity reads the container's security context and PID mode.
func containerSecurity(sc *runtimeapi.LinuxContainerSecurityContext, p *spec.CRIInput) error {
	const f = "config.linux.security_context"
	// The network and IPC namespaces are the sandbox's whatever the
	// container says (as containerd has them); the PID mode is the
	// container's.
	ns := sc.GetNamespaceOptions()
	switch m := ns.GetPid(); m {
	case runtimeapi.NamespaceMode_CONTAINER:
	case runtimeapi.NamespaceMode_POD:
		p.Sandbox.ShareProcessNamespace = true
	case runtimeapi.NamespaceMode_NODE:
		p.Sandbox.HostPID = true
	default:
		return unsupported("%s.namespace_options.pid %s: podd does not join another container's PID namespace", f, m)
	}
	if ns.GetTargetId() != "" {
		return unsupported("%s.namespace_options.target_id: podd does not join another container's PID namespace", f)
	}
	if se := sc.GetSelinuxOptions(); se.GetUser()+se.GetRole()+se.GetType()+se.GetLevel() != "" {
		return invalid("%s.selinux_options: SELinux is not available on this host", f)
	}
	if err := apparmor(sc); err != nil {
		return err
	}
	if len(sc.GetCapabilities().GetAddAmbientCapabilities()) > 0 {
		return unsupported("%s.capabilities.add_ambient_capabilities: podd does not set ambient capabilities", f)
	}
	p.CapAdd, p.CapDrop = sc.GetCapabilities().GetAddCapabilities(), sc.GetCapabilities().GetDropCapabilities()
	p.Privileged, p.ReadonlyRootfs, p.NoNewPrivs = sc.GetPrivileged(), sc.GetReadonlyRootfs(), sc.GetNoNewPrivs()
	if u := sc.GetRunAsUser(); u != nil {
		v := u.GetValue()
		p.RunAsUser = &v
	}
	if g := sc.GetRunAsGroup(); g != nil {
		v := g.GetValue()
		p.RunAsGroup = &v
	}
	p.RunAsUsername = sc.GetRunAsUsername()
	if p.RunAsGroup != nil && p.RunAsUser == nil && p.RunAsUsername == "" {
		return invalid("%s.run_as_group is set without run_as_user or run_as_username", f)
	}
	p.MaskedPaths, p.ReadonlyPaths = sc.GetMaskedPaths(), sc.GetReadonlyPaths()
	p.SupplementalGroups = sc.GetSupplementalGroups()
	switch pol := sc.GetSupplementalGroupsPolicy(); pol {
	case runtimeapi.SupplementalGroupsPolicy_Merge:
		p.SupplementalGroupsPolicy = string(corev1.SupplementalGroupsPolicyMerge)
	case runtimeapi.SupplementalGroupsPolicy_Strict:
		p.SupplementalGroupsPolicy = string(corev1.SupplementalGroupsPolicyStrict)
	default:
		return invalid("%s.supplemental_groups_policy %v is unknown", f, pol)
	}
	return seccompOf(sc, p)
}

// apparmor accepts no profile, RuntimeDefault or Unconfined: this host has
// no AppArmor, so each runs unconfined.
func apparmor(sc *runtimeapi.LinuxContainerSecurityContext) error {
	if a := sc.GetApparmor(); a != nil && a.GetProfileType() == runtimeapi.SecurityProfile_Localhost {
		return invalid("config.linux.security_context.apparmor: AppArmor is not available on this host (profile %q)", a.GetLocalhostRef())
	}
	return nil
}

// seccompOf reads the seccomp profile; none is unconfined, as containerd
// has it (the kubelet always sends one). The deprecated
// seccomp_profile_path, which kubelets no longer send, is not read.
func seccompOf(sc *runtimeapi.LinuxContainerSecurityContext, p *spec.CRIInput) error {
	switch s := sc.GetSeccomp(); s.GetProfileType() {
	case runtimeapi.SecurityProfile_RuntimeDefault:
		p.Seccomp = string(corev1.SeccompProfileTypeRuntimeDefault)
		if s == nil {
			p.Seccomp = string(corev1.SeccompProfileTypeUnconfined)
		}
	case runtimeapi.SecurityProfile_Unconfined:
		p.Seccomp = string(corev1.SeccompProfileTypeUnconfined)
	case runtimeapi.SecurityProfile_Localhost:
		p.Seccomp, p.SeccompProfile = string(corev1.SeccompProfileTypeLocalhost), s.GetLocalhostRef()
	}
	return nil
}
func itoa(i int) string { return strconv.Itoa(i) }
