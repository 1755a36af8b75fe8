package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/podd-dev/podd/daemon"
	"github.com/podd-dev/podd/daemon/services"
	"github.com/podd-dev/podd/daemon/userns"
	"github.com/podd-dev/podd/network/clusterdns"
	"github.com/podd-dev/podd/runtime/image"
)

// defaultConfigFile is read when no --config is given; it may be absent.
// A variable so that tests can point it elsewhere.
var defaultConfigFile = "/etc/podd/config.yaml"

// fileConfig is the config file's schema: one key per daemon flag, all
// optional; a key that is present overrides the built-in default.
type fileConfig struct {
	Root      *string `json:"root"`
	RunRoot   *string `json:"runRoot"`
	Socket    *string `json:"socket"`
	CRISocket *string `json:"criSocket"` // "": no CRI
	// CRIStreamAddress: see daemon.Config.
	CRIStreamAddress *string   `json:"criStreamAddress"`
	Manifests        *string   `json:"manifests"`
	CNIConfDir       *string   `json:"cniConfDir"`
	CNIBinDirs       *[]string `json:"cniBinDirs"`
	CgroupParent     *string   `json:"cgroupParent"`
	BinDir           *string   `json:"binDir"`
	BackoffBase      *string   `json:"backoffBase"`
	BackoffMax       *string   `json:"backoffMax"`
	NodeName         *string   `json:"nodeName"`
	LogLevel         *string   `json:"logLevel"`

	ContainerLogMaxSize  *json.RawMessage `json:"containerLogMaxSize"` // a quantity: 10Mi or a number
	ContainerLogMaxFiles *int             `json:"containerLogMaxFiles"`
	// SeccompDefault and AllowedUnsafeSysctls: see daemon.Config.
	SeccompDefault       *bool            `json:"seccompDefault"`
	AllowedUnsafeSysctls *[]string        `json:"allowedUnsafeSysctls"`
	MaxLayerSize         *json.RawMessage `json:"maxLayerSize"` // a quantity: 10Gi or a number
	PodPidsLimit         *int64           `json:"podPidsLimit"` // -1: no limit
	// PodUserNamespaceIDs: see daemon.Config.
	PodUserNamespaceIDs *string `json:"podUserNamespaceIDs"`
	// MetricsAddress and MetricsAllowRemote: see daemon.Config.
	MetricsAddress     *string `json:"metricsAddress"`
	MetricsAllowRemote *bool   `json:"metricsAllowRemote"`
	// Profiling: see daemon.Config.
	Profiling *bool `json:"profiling"`
	// ClusterDNS, ClusterDomain and ResolvConf: see daemon.Config.
	ClusterDNS    *bool   `json:"clusterDNS"`
	ClusterDomain *string `json:"clusterDomain"`
	ResolvConf    *string `json:"resolvConf"`
	// RegistryMirrors maps a registry host to mirror URLs tried in order.
	RegistryMirrors *map[string][]string `json:"registryMirrors"`
	// ServiceCIDR: see daemon.Config.
	ServiceCIDR *string `json:"serviceCIDR"`
}

// loadConfigFile applies the YAML config file at path to cfg and logLevel.
// An empty path means defaultConfigFile, which may be missing; a file named
// explicitly must exist. Unknown keys (matched case-sensitively) and bad
// values are errors naming the key. Flags given on the command line should
// be applied after it, so that they win.
func loadConfigFile(path string, cfg *daemon.Config, logLevel *string) error {
	explicit := path != ""
	if !explicit {
		path = defaultConfigFile
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	fc, err := parseConfigFile(data)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if err := fc.apply(cfg, logLevel); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// parseConfigFile decodes the file strictly: encoding/json alone would
// accept "RunRoot" for "runRoot", so keys are checked exactly first.
func parseConfigFile(data []byte) (*fileConfig, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(js, &keys); err != nil {
		return nil, fmt.Errorf("want a mapping of settings: %w", err)
	}
	known := configKeys()
	for k := range keys {
		if !known[k] {
			return nil, fmt.Errorf("unknown key %q (known: %s)", k, strings.Join(sortedKeys(known), ", "))
		}
	}
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, err
	}
	return &fc, nil
}

// apply copies the keys that are set into cfg, checking each value.
func (fc *fileConfig) apply(cfg *daemon.Config, logLevel *string) error {
	paths := []struct {
		key      string
		val      *string
		dst      *string
		mayEmpty bool
	}{
		{"root", fc.Root, &cfg.Root, false},
		{"runRoot", fc.RunRoot, &cfg.RunRoot, false},
		{"socket", fc.Socket, &cfg.Socket, false},
		{"criSocket", fc.CRISocket, &cfg.CRISocket, true}, // empty: no CRI
		{"manifests", fc.Manifests, &cfg.Manifests, true}, // empty: no static pods
		{"cniConfDir", fc.CNIConfDir, &cfg.CNIConfDir, false},
		{"binDir", fc.BinDir, &cfg.BinDir, false},
		{"resolvConf", fc.ResolvConf, &cfg.ResolvConf, false},
	}
	for _, p := range paths {
		if p.val == nil {
			continue
		}
		if err := checkPath(p.key, *p.val, p.mayEmpty); err != nil {
			return err
		}
		*p.dst = *p.val
	}
	if fc.CNIBinDirs != nil {
		for i, d := range *fc.CNIBinDirs {
			if err := checkPath(fmt.Sprintf("cniBinDirs[%d]", i), d, false); err != nil {
				return err
			}
		}
		cfg.CNIBinDirs = append([]string(nil), *fc.CNIBinDirs...)
	}
	if fc.CgroupParent != nil {
		if *fc.CgroupParent == "" {
			return fmt.Errorf("cgroupParent: must not be empty")
		}
		cfg.CgroupParent = *fc.CgroupParent
	}
	if fc.NodeName != nil {
		if *fc.NodeName == "" {
			return fmt.Errorf("nodeName: must not be empty")
		}
		cfg.NodeName = *fc.NodeName
	}
	for _, d := range []struct {
		key string
		val *string
		dst *time.Duration
	}{
		{"backoffBase", fc.BackoffBase, &cfg.BackoffBase},
		{"backoffMax", fc.BackoffMax, &cfg.BackoffMax},
	} {
		if d.val == nil {
			continue
		}
		v, err := time.ParseDuration(*d.val)
		if err != nil {
			return fmt.Errorf("%s: %w", d.key, err)
		}
		if v <= 0 {
			return fmt.Errorf("%s: %q must be positive", d.key, *d.val)
		}
		*d.dst = v
	}
	if fc.ContainerLogMaxSize != nil {
		n, err := rawByteSize(*fc.ContainerLogMaxSize)
		if err != nil {
			return fmt.Errorf("containerLogMaxSize: %w", err)
		}
		cfg.ContainerLogMaxSize = n
	}
	if fc.ContainerLogMaxFiles != nil {
		if *fc.ContainerLogMaxFiles < 2 {
			return fmt.Errorf("containerLogMaxFiles: %d must be at least 2", *fc.ContainerLogMaxFiles)
		}
		cfg.ContainerLogMaxFiles = *fc.ContainerLogMaxFiles
	}
	if fc.SeccompDefault != nil {
		cfg.SeccompDefault = *fc.SeccompDefault
	}
	if fc.AllowedUnsafeSysctls != nil {
		cfg.AllowedUnsafeSysctls = append([]string(nil), *fc.AllowedUnsafeSysctls...)
	}
	if fc.MaxLayerSize != nil {
		v, err := rawByteSize(*fc.MaxLayerSize)
		if err != nil {
			return fmt.Errorf("maxLayerSize: %w", err)
		}
		cfg.MaxLayerSize = v
	}
	if fc.PodPidsLimit != nil {
		if err := daemon.CheckPodPidsLimit(*fc.PodPidsLimit); err != nil {
			return fmt.Errorf("podPidsLimit: %w", err)
		}
		cfg.PodPidsLimit = *fc.PodPidsLimit
	}
	if fc.PodUserNamespaceIDs != nil {
		if _, err := userns.ParseRange(*fc.PodUserNamespaceIDs); err != nil {
			return fmt.Errorf("podUserNamespaceIDs: %w", err)
		}
		cfg.PodUserNamespaceIDs = *fc.PodUserNamespaceIDs
	}
	if fc.CRIStreamAddress != nil {
		if err := daemon.CheckCRIStreamAddress(*fc.CRIStreamAddress); err != nil {
			return fmt.Errorf("criStreamAddress: %w", err)
		}
		cfg.CRIStreamAddress = *fc.CRIStreamAddress
	}
	if fc.MetricsAllowRemote != nil {
		cfg.MetricsAllowRemote = *fc.MetricsAllowRemote
	}
	if fc.Profiling != nil {
		cfg.Profiling = *fc.Profiling
	}
	if fc.MetricsAddress != nil {
		// Whether it may be remote is checked with the flags applied.
		if *fc.MetricsAddress != "" {
			if err := daemon.CheckMetricsAddress(*fc.MetricsAddress, true); err != nil {
				return fmt.Errorf("metricsAddress: %w", err)
			}
		}
		cfg.MetricsAddress = *fc.MetricsAddress
	}
	if fc.ServiceCIDR != nil {
		if _, err := services.ParseCIDR(*fc.ServiceCIDR); err != nil {
			return fmt.Errorf("serviceCIDR: %w", err)
		}
		cfg.ServiceCIDR = *fc.ServiceCIDR
	}
	if fc.ClusterDNS != nil {
		cfg.ClusterDNS = *fc.ClusterDNS
	}
	if fc.ClusterDomain != nil {
		if err := clusterdns.CheckDomain(*fc.ClusterDomain); err != nil {
			return fmt.Errorf("clusterDomain: %w", err)
		}
		cfg.ClusterDomain = *fc.ClusterDomain
	}
	if fc.RegistryMirrors != nil {
		m := image.Mirrors(*fc.RegistryMirrors)
		if err := image.CheckMirrors(m); err != nil {
			return fmt.Errorf("registryMirrors: %w", err)
		}
		cfg.RegistryMirrors = m
	}
	if fc.LogLevel != nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*fc.LogLevel)); err != nil {
			return fmt.Errorf("logLevel: %w", err)
		}
		if logLevel != nil {
			*logLevel = *fc.LogLevel
		}
	}
	return nil
}

// parseByteSize reads a positive size as a Kubernetes quantity ("10Gi",
// "512Mi", "1000000").
func parseByteSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	v, ok := q.AsInt64()
	if !ok || v <= 0 {
		return 0, fmt.Errorf("%q must be a positive whole number of bytes", s)
	}
	return v, nil
}

// rawByteSize is parseByteSize of a YAML string ("10Gi") or number.
func rawByteSize(raw json.RawMessage) (int64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	return parseByteSize(s)
}

// checkPath rejects relative paths: under systemd the working directory is
// "/", so a relative path in the file would mean something surprising.
func checkPath(key, p string, mayEmpty bool) error {
	switch {
	case p == "" && mayEmpty:
		return nil
	case p == "":
		return fmt.Errorf("%s: must not be empty", key)
	case !filepath.IsAbs(p):
		return fmt.Errorf("%s: %q is not an absolute path", key, p)
	}
	return nil
}

// configKeys lists fileConfig's keys, from its json tags.
func configKeys() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[fileConfig]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// configFileArg finds --config (or -config) in args before the flags are
// parsed, so that the file's values can become the flags' defaults and the
// flags given on the command line still win. It returns "" when absent.
// podd takes no positional arguments, so any word not starting with "-" is
// another flag's value and is skipped.
func configFileArg(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	return ""
}

// criSocketUnderRunRoot stands for the default CRI socket until the run
// root is known (main sets it before the config file and the flags); it is
// also what --help shows.
const criSocketUnderRunRoot = "<run-root>/cri.sock"

// resolveCRISocket puts the CRI socket under the run root unless the file
// or a flag named one, and checks it: absolute, or empty for no CRI.
func resolveCRISocket(cfg *daemon.Config) error {
	if cfg.CRISocket == criSocketUnderRunRoot {
		cfg.CRISocket = daemon.DefaultCRISocket(cfg.RunRoot)
	}
	return checkPath("--cri-socket", cfg.CRISocket, true)
}
