package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// effectiveSeccomp is the container's seccompProfile, else the pod's, else
// nil (the daemon's seccompDefault decides).
func effectiveSeccomp(pod *corev1.Pod, c *corev1.Container) *corev1.SeccompProfile {
	if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile
	}
	return nil
}

// seccompFilter resolves a container's seccomp profile into the runtime-spec
// filter the shim hands libcontainer, JSON encoded; nil means no filter.
// Privileged containers run unconfined, as with containerd, CRI-O and
// docker. The default profile is moby's (containerd's is the same), whose
// rules depend on the container's capabilities (with CAP_SYS_ADMIN, unshare
// and mount are allowed); a Localhost profile is read from host.SeccompRoot
// in the same (docker) format, which also accepts plain OCI profiles.
//
// The default filter leaves out the x32 ABI (x86_64 binaries built for
// 32-bit pointers; almost no kernel enables it): libseccomp's x32 section
// is what makes the filter slow to load, and libcontainer loads it at every
// container start and every exec, exec probes included (measured on the
// 2-core CI host: ~110 ms with x86_64, x86 and x32, ~40 ms without x32). An
// x32 syscall then meets the filter's bad-architecture action and fails.
// Its rules that allow listed values of an argument are rewritten as fewer
// equivalent ones (compactArgRules), which libseccomp compiles faster.
func seccompFilter(profile *corev1.SeccompProfile, caps []string, privileged bool, host HostSecurity) ([]byte, error) {
	if privileged {
		return nil, nil
	}
	typ := corev1.SeccompProfileTypeUnconfined
	switch {
	case profile != nil:
		typ = profile.Type
	case host.SeccompDefault:
		typ = corev1.SeccompProfileTypeRuntimeDefault
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	var filter *specs.LinuxSeccomp
	var err error
	switch typ {
	case corev1.SeccompProfileTypeUnconfined:
		return nil, nil
	case corev1.SeccompProfileTypeRuntimeDefault:
		return defaultFilters.get(caps)
	case corev1.SeccompProfileTypeLocalhost:
		filter, err = localhostSeccomp(profile.LocalhostProfile, rs, host.SeccompRoot)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("seccomp profile type %q is not RuntimeDefault, Localhost or Unconfined", typ)
	}
	if filter == nil {
		return nil, nil
	}
	b, err := json.Marshal(filter)
	if err != nil {
		return nil, fmt.Errorf("encode seccomp filter: %w", err)
	}
	return b, nil
}

// localhostSeccomp reads and converts a Localhost profile: a path relative
// to root that stays inside it (validation refuses others first).
func localhostSeccomp(rel *string, rs *specs.Spec, root string) (*specs.LinuxSeccomp, error) {
	switch {
	case rel == nil || *rel == "":
		return nil, errors.New("seccomp profile type Localhost needs localhostProfile")
	case !filepath.IsLocal(*rel):
		return nil, fmt.Errorf("seccomp localhostProfile %q must be a relative path inside the profile directory", *rel)
	case root == "":
		return nil, fmt.Errorf("seccomp localhostProfile %q: no profile directory is configured", *rel)
	}
	path := filepath.Join(root, *rel)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp localhostProfile %q: %w", *rel, err)
	}
	filter, err := seccomp.LoadProfile(string(data), rs)
	if err != nil {
		return nil, fmt.Errorf("seccomp localhostProfile %q (%s): %w", *rel, path, err)
	}
	return filter, nil
}

// defaultFilters holds the encoded default filter of each capability set
// seen: it depends on nothing else, and building and encoding it (a few
// hundred rules) was most of what a container's spec cost the daemon.
var defaultFilters = filterCache{byCaps: map[string][]byte{}}

// maxCachedFilters bounds the cache; pods' capability sets are few.
const maxCachedFilters = 64

type filterCache struct {
	mu     sync.Mutex
	byCaps map[string][]byte
}

// get returns the encoded default filter for caps, shared: callers must
// not modify it.
func (c *filterCache) get(caps []string) ([]byte, error) {
	key := strings.Join(caps, ",")
	c.mu.Lock()
	b, ok := c.byCaps[key]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := encodeDefaultFilter(caps)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byCaps) < maxCachedFilters {
		c.byCaps[key] = b
	}
	c.mu.Unlock()
	return b, nil
}

func encodeDefaultFilter(caps []string) ([]byte, error) {
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	filter, err := seccomp.GetDefaultProfile(rs)
	if err != nil {
		return nil, fmt.Errorf("default seccomp profile: %w", err)
	}
	filter.Architectures = slices.DeleteFunc(filter.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
	compactArgRules(filter)
	b, err := json.Marshal(filter)
	if err != nil {
		return nil, fmt.Errorf("encode seccomp filter: %w", err)
	}
	return b, nil
}
