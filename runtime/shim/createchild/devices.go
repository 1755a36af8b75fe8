package createchild

// The cgroup managers program device rules through hooks that this import
// installs, as runc's main does (see package libct, whose Update sets the
// same rules again).
import _ "github.com/opencontainers/cgroups/devices"
