package manifest

import (
	"strings"
	"testing"
)

// podWith is a one-container pod whose spec gets extra lines (indented two
// spaces) and whose container gets extra fields (a flow mapping's inside).
func podWith(spec, container string) string {
	c := "{name: c, image: busybox"
	if container != "" {
		c += ", " + container
	}
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n" + spec + "  containers: [" + c + "}]\n"
}

func sysctlPod(name, extra string) string {
	return podWith(extra+"  securityContext: {sysctls: [{name: \""+name+"\", value: \"1\"}]}\n", "")
}

// checkValidation parses m and wants an error containing want, or none
// when want is "".
func checkValidation(t *testing.T, what, m string, pol Policy, want string) {
	t.Helper()
	_, _, err := Parse([]byte(m), "p.yaml", pol)
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: rejected: %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: error %v, want one containing %q", what, err, want)
	}
}

// Issue 7 item 2: sysctls are the kubelet's safe set, or namespaced ones
// the daemon allows; names are checked for form first.
func TestValidate_Sysctls(t *testing.T) {
	const field = "spec.securityContext.sysctls[0].name: "
	allow := Policy{AllowedUnsafeSysctls: []string{"net.core.somaxconn", "kernel.msg*", "net.ipv6.*"}}
	for _, tc := range []struct {
		name, extra string
		pol         Policy
		want        string
	}{
		{"net.ipv4.ip_unprivileged_port_start", "", Policy{}, ""},
		{"net/ipv4/ping_group_range", "", Policy{}, ""},
		{"kernel.shm_rmid_forced", "", Policy{}, ""},
		{"net.ipv4.tcp_rmem", "", Policy{}, ""},
		{"net.foo.bar", "", Policy{}, field + `Forbidden: sysctl "net.foo.bar" is not in the safe set`},
		{"net.core.somaxconn", "", Policy{}, field + "Forbidden"},
		{"net.core.somaxconn", "", allow, ""},
		{"net/core/somaxconn", "", allow, ""},
		{"kernel.msgmax", "", allow, ""},
		{"net.ipv6.conf.all.forwarding", "", allow, ""},
		{"net.ipv4.ip_forward", "", allow, field + "Forbidden"},
		{"kernel.core_pattern", "", allow, field + `Forbidden: sysctl "kernel.core_pattern" is not namespaced`},
		{"vm.swappiness", "", Policy{AllowedUnsafeSysctls: []string{"net.*"}}, field + "Forbidden"},
		{"net/../../kernel/core_pattern", "", Policy{AllowedUnsafeSysctls: []string{"net.*"}}, field + "Invalid value"},
		{"net.ipv4..ip_forward", "", Policy{}, field + "Invalid value"},
		{"net.ipv4.ip_forward\n", "", Policy{}, field + "Invalid value"},
		{"NET.ipv4.tcp_syncookies", "", Policy{}, field + "Invalid value"},
		{"net.ipv4.conf.eth0/1.rp_filter", "", Policy{AllowedUnsafeSysctls: []string{"net.*"}}, field + "Invalid value"},
		{"", "", Policy{}, field + "Required value"},
		{"net.ipv4.tcp_syncookies", "  hostNetwork: true\n", Policy{}, field + "Forbidden: net sysctls may not be set with hostNetwork"},
		{"kernel.shm_rmid_forced", "  hostIPC: true\n", Policy{}, field + "Forbidden: ipc sysctls may not be set with hostIPC"},
	} {
		checkValidation(t, "sysctl "+tc.name, sysctlPod(tc.name, tc.extra), tc.pol, tc.want)
	}
	dup := podWith("  securityContext: {sysctls: [{name: net.ipv4.tcp_syncookies, value: \"1\"}, {name: net/ipv4/tcp_syncookies, value: \"0\"}]}\n", "")
	checkValidation(t, "same sysctl in both spellings", dup, Policy{}, "spec.securityContext.sysctls[1].name: Duplicate value")
}

func TestCheckAllowedUnsafeSysctls(t *testing.T) {
	for _, ok := range [][]string{nil, {"net.*"}, {"net.core.somaxconn", "kernel.msg*", "kernel.shm*", "kernel.sem", "fs.mqueue.*"}, {"net/core/somaxconn"}} {
		if err := CheckAllowedUnsafeSysctls(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"*", "kernel.*", "vm.swappiness", "kernel.core_pattern", "net/../../kernel/core_pattern", "net..x", "net*", ""} {
		if err := CheckAllowedUnsafeSysctls([]string{"net.core.somaxconn", bad}); err == nil || !strings.Contains(err.Error(), "allowedUnsafeSysctls[1]") {
			t.Errorf("%q: error %v, want one naming allowedUnsafeSysctls[1]", bad, err)
		}
	}
}

// Issue 7 item 3: seccomp profiles are checked like the API server does;
// AppArmor profiles and SELinux labels are refused, never ignored.
func TestValidate_SecurityProfiles(t *testing.T) {
	pod := func(sc string) string { return podWith("  securityContext: "+sc+"\n", "") }
	ctr := func(sc string) string { return podWith("", "securityContext: "+sc) }
	const cs = "spec.containers[0].securityContext."
	for _, tc := range []struct{ what, m, want string }{
		{"pod RuntimeDefault", pod("{seccompProfile: {type: RuntimeDefault}}"), ""},
		{"pod Unconfined", pod("{seccompProfile: {type: Unconfined}}"), ""},
		{"container Localhost", ctr("{seccompProfile: {type: Localhost, localhostProfile: team/p.json}}"), ""},
		{"Localhost without a profile", ctr("{seccompProfile: {type: Localhost}}"), cs + "seccompProfile.localhostProfile: Required value"},
		{"Localhost leaving the directory", ctr("{seccompProfile: {type: Localhost, localhostProfile: ../p.json}}"), cs + "seccompProfile.localhostProfile: Invalid value"},
		{"Localhost absolute", pod("{seccompProfile: {type: Localhost, localhostProfile: /etc/p.json}}"), "spec.securityContext.seccompProfile.localhostProfile: Invalid value"},
		{"localhostProfile with RuntimeDefault", ctr("{seccompProfile: {type: RuntimeDefault, localhostProfile: p.json}}"), cs + "seccompProfile.localhostProfile: Invalid value"},
		{"unknown type", ctr("{seccompProfile: {type: Strict}}"), cs + `seccompProfile.type: Unsupported value: "Strict"`},
		{"AppArmor Unconfined", pod("{appArmorProfile: {type: Unconfined}}"), ""},
		{"AppArmor RuntimeDefault", pod("{appArmorProfile: {type: RuntimeDefault}}"), "spec.securityContext.appArmorProfile: Forbidden"},
		{"container AppArmor Localhost", ctr("{appArmorProfile: {type: Localhost, localhostProfile: p}}"), cs + "appArmorProfile: Forbidden"},
		{"SELinux options", pod(`{seLinuxOptions: {level: "s0:c1,c2"}}`), "spec.securityContext.seLinuxOptions: Forbidden"},
		{"container SELinux options", ctr("{seLinuxOptions: {type: spc_t}}"), cs + "seLinuxOptions: Forbidden"},
		{"empty SELinux options", ctr("{seLinuxOptions: {}}"), ""},
		{"seccomp annotation", strings.Replace(pod("{}"), "metadata: {name: a}", "metadata: {name: a, annotations: {seccomp.security.alpha.kubernetes.io/pod: runtime/default}}", 1),
			"metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Forbidden"},
		{"AppArmor annotation", strings.Replace(pod("{}"), "metadata: {name: a}", "metadata: {name: a, annotations: {container.apparmor.security.beta.kubernetes.io/c: runtime/default}}", 1),
			"metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]: Forbidden"},
		{"AppArmor annotation unconfined", strings.Replace(pod("{}"), "metadata: {name: a}", "metadata: {name: a, annotations: {container.apparmor.security.beta.kubernetes.io/c: unconfined}}", 1), ""},
	} {
		checkValidation(t, tc.what, tc.m, Policy{}, tc.want)
	}
}

// Issue 7 item 10: an added capability must be one the host has.
func TestValidate_CapabilitiesWithinHostSet(t *testing.T) {
	host := Policy{HostCapabilities: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}}
	const add = "spec.containers[0].securityContext.capabilities.add"
	for _, tc := range []struct {
		what, sc string
		pol      Policy
		want     string
	}{
		{"host has it", "{capabilities: {add: [NET_ADMIN]}}", host, ""},
		{"ALL", "{capabilities: {add: [ALL]}}", host, ""},
		{"privileged", "{privileged: true}", host, ""},
		{"host lacks it", "{capabilities: {add: [NET_ADMIN, cap_sys_resource]}}", host, add + "[1]: Forbidden: CAP_SYS_RESOURCE is not in this host's capability bounding set"},
		{"unknown host set", "{capabilities: {add: [SYS_RESOURCE]}}", Policy{}, ""},
		{"unknown name", "{capabilities: {add: [FLY]}}", Policy{}, add + `[0]: Unsupported value: "FLY"`},
		{"unknown drop", "{capabilities: {drop: [FLY]}}", Policy{}, `capabilities.drop[0]: Unsupported value: "FLY"`},
	} {
		checkValidation(t, tc.what, podWith("", "securityContext: "+tc.sc), tc.pol, tc.want)
	}
}
