package libct

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// buildDevices returns the device nodes to make in the container for the
// requested host devices, and the cgroup rules that allow them.
func buildDevices(cfg *shimv1.ContainerConfig) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	var devs []specs.LinuxDevice
	var rules []specs.LinuxDeviceCgroup
	for _, d := range cfg.GetDevices() {
		if !filepath.IsAbs(d.GetContainerPath()) {
			return nil, nil, fmt.Errorf("container %q: device path %q is not absolute", cfg.GetId(), d.GetContainerPath())
		}
		perms := d.GetPermissions()
		if perms == "" {
			perms = "rwm"
		}
		if strings.Trim(perms, "rwm") != "" {
			return nil, nil, fmt.Errorf("container %q: device %s: permissions %q are not of r, w and m", cfg.GetId(), d.GetHostPath(), perms)
		}
		var st unix.Stat_t
		if err := unix.Stat(d.GetHostPath(), &st); err != nil {
			return nil, nil, fmt.Errorf("container %q: device %s: %w", cfg.GetId(), d.GetHostPath(), err)
		}
		var typ string
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			typ = "c"
		case unix.S_IFBLK:
			typ = "b"
		default:
			return nil, nil, fmt.Errorf("container %q: %s is not a character or block device", cfg.GetId(), d.GetHostPath())
		}
		major, minor := int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		mode := fileMode(st.Mode)
		uid, gid := st.Uid, st.Gid
		devs = append(devs, specs.LinuxDevice{Path: d.GetContainerPath(), Type: typ, Major: major, Minor: minor,
			FileMode: &mode, UID: &uid, GID: &gid})
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: perms})
	}
	return devs, rules, nil
}

// fileMode is a stat mode's permission bits as an os.FileMode.
func fileMode(m uint32) os.FileMode { return os.FileMode(m & 0o7777) }
