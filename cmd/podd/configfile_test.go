package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon"
	"github.com/podd-dev/podd/runtime/image"
)

func baseConfig() daemon.Config {
	return daemon.Config{
		Root: "/var/lib/podd", RunRoot: "/run/podd", Socket: "/run/podd/podd.sock",
		Manifests: "/etc/podd/manifests", CNIConfDir: "/etc/cni/net.d",
		CNIBinDirs: []string{"/usr/lib/cni"}, CgroupParent: "/podd", BinDir: "/usr/local/bin",
		BackoffBase: 10 * time.Second, BackoffMax: 300 * time.Second, NodeName: "host",
	}
}

func TestLoadConfigFile(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		edit      func(*daemon.Config) // expected change from baseConfig
		wantLevel string
		wantErr   string
	}{
		{name: "empty file changes nothing", yaml: ""},
		{name: "comments only", yaml: "# nothing here\n"},
		{
			name: "every key",
			yaml: `root: /data/podd
runRoot: /run/p
socket: /run/p/api.sock
manifests: /srv/manifests
cniConfDir: /srv/cni
cniBinDirs: [/opt/a, /opt/b]
cgroupParent: /custom
binDir: /opt/podd/bin
backoffBase: 1s
backoffMax: 2m
nodeName: node-7
logLevel: debug
`,
			edit: func(c *daemon.Config) {
				c.Root, c.RunRoot, c.Socket = "/data/podd", "/run/p", "/run/p/api.sock"
				c.Manifests, c.CNIConfDir = "/srv/manifests", "/srv/cni"
				c.CNIBinDirs = []string{"/opt/a", "/opt/b"}
				c.CgroupParent, c.BinDir = "/custom", "/opt/podd/bin"
				c.BackoffBase, c.BackoffMax = time.Second, 2*time.Minute
				c.NodeName = "node-7"
			},
			wantLevel: "debug",
		},
		{name: "some keys", yaml: "nodeName: n1\nbackoffMax: 90s\n", edit: func(c *daemon.Config) {
			c.NodeName, c.BackoffMax = "n1", 90*time.Second
		}},
		{name: "security keys", yaml: "seccompDefault: true\nallowedUnsafeSysctls: [net.core.somaxconn, 'kernel.msg*']\n", edit: func(c *daemon.Config) {
			c.SeccompDefault, c.AllowedUnsafeSysctls = true, []string{"net.core.somaxconn", "kernel.msg*"}
		}},
		{name: "cri socket", yaml: "criSocket: /run/x/cri.sock\n", edit: func(c *daemon.Config) { c.CRISocket = "/run/x/cri.sock" }},
		{name: "empty cri socket disables CRI", yaml: `criSocket: ""`, edit: func(c *daemon.Config) { c.CRISocket = "" }},
		{name: "relative cri socket", yaml: "criSocket: cri.sock\n", wantErr: `criSocket: "cri.sock" is not an absolute path`},
		{name: "registry mirrors", yaml: "registryMirrors:\n  registry.k8s.io: [http://127.0.0.1:5077, https://m.example]\n  docker.io: [http://127.0.0.1:5077]\n",
			edit: func(c *daemon.Config) {
				c.RegistryMirrors = image.Mirrors{"registry.k8s.io": {"http://127.0.0.1:5077", "https://m.example"}, "docker.io": {"http://127.0.0.1:5077"}}
			}},
		{name: "registry mirror without scheme", yaml: "registryMirrors: {registry.k8s.io: [127.0.0.1:5077]}\n", wantErr: "registryMirrors: registry mirrors: registry.k8s.io"},
		{name: "registry mirror list not a list", yaml: "registryMirrors: {registry.k8s.io: http://127.0.0.1:5077}\n", wantErr: "registryMirrors"},
		{name: "empty manifests disables static pods", yaml: `manifests: ""`, edit: func(c *daemon.Config) { c.Manifests = "" }},
		{name: "json is yaml", yaml: `{"root": "/x"}`, edit: func(c *daemon.Config) { c.Root = "/x" }},
		{name: "unknown key", yaml: "root: /x\nimageDir: /y\n", wantErr: `unknown key "imageDir"`},
		{name: "key in wrong case", yaml: "RunRoot: /x\n", wantErr: `unknown key "RunRoot"`},
		{name: "duplicate key", yaml: "root: /x\nroot: /y\n", wantErr: `"root" already set`},
		{name: "not a mapping", yaml: "- root\n", wantErr: "want a mapping"},
		{name: "wrong type", yaml: "cniBinDirs: /opt/a\n", wantErr: "cniBinDirs"},
		{name: "bad duration", yaml: "backoffBase: ten\n", wantErr: "backoffBase"},
		{name: "negative duration", yaml: "backoffMax: -1s\n", wantErr: "backoffMax"},
		{name: "bare number is not a duration", yaml: "backoffBase: 10\n", wantErr: "backoffBase"},
		{name: "relative path", yaml: "root: var/lib/podd\n", wantErr: `root: "var/lib/podd" is not an absolute path`},
		{name: "relative cni bin dir", yaml: "cniBinDirs: [/ok, rel]\n", wantErr: "cniBinDirs[1]"},
		{name: "empty socket", yaml: `socket: ""`, wantErr: "socket: must not be empty"},
		{name: "empty node name", yaml: `nodeName: ""`, wantErr: "nodeName"},
		{name: "bad log level", yaml: "logLevel: loud\n", wantErr: "logLevel"},
		{name: "log rotation", yaml: "containerLogMaxSize: 1Mi\ncontainerLogMaxFiles: 3\n", edit: func(c *daemon.Config) {
			c.ContainerLogMaxSize, c.ContainerLogMaxFiles = 1<<20, 3
		}},
		{name: "log size not a quantity", yaml: "containerLogMaxSize: big\n", wantErr: "containerLogMaxSize"},
		{name: "log size zero", yaml: "containerLogMaxSize: \"0\"\n", wantErr: "containerLogMaxSize"},
		{name: "one log file", yaml: "containerLogMaxFiles: 1\n", wantErr: "containerLogMaxFiles: 1 must be at least 2"},
		{name: "max layer size", yaml: "maxLayerSize: 512Mi\n", edit: func(c *daemon.Config) { c.MaxLayerSize = 512 << 20 }},
		{name: "max layer size in bytes", yaml: "maxLayerSize: 1000000\n", edit: func(c *daemon.Config) { c.MaxLayerSize = 1000000 }},
		{name: "zero max layer size", yaml: "maxLayerSize: 0\n", wantErr: "maxLayerSize"},
		{name: "bad max layer size", yaml: "maxLayerSize: lots\n", wantErr: "maxLayerSize"},
		{name: "pod pids limit", yaml: "podPidsLimit: 64\n", edit: func(c *daemon.Config) { c.PodPidsLimit = 64 }},
		{name: "no pod pids limit", yaml: "podPidsLimit: -1\n", edit: func(c *daemon.Config) { c.PodPidsLimit = -1 }},
		{name: "zero pod pids limit", yaml: "podPidsLimit: 0\n", wantErr: "podPidsLimit"},
		{name: "pod user namespace IDs", yaml: "podUserNamespaceIDs: \"1048576:1048576\"\n", edit: func(c *daemon.Config) { c.PodUserNamespaceIDs = "1048576:1048576" }},
		{name: "pod user namespace IDs off a block", yaml: "podUserNamespaceIDs: \"1000:65536\"\n", wantErr: "podUserNamespaceIDs"},
		{name: "metrics address", yaml: "metricsAddress: 127.0.0.1:9101\n", edit: func(c *daemon.Config) { c.MetricsAddress = "127.0.0.1:9101" }},
		{name: "remote metrics address", yaml: "metricsAddress: 0.0.0.0:9101\nmetricsAllowRemote: true\n", edit: func(c *daemon.Config) {
			c.MetricsAddress, c.MetricsAllowRemote = "0.0.0.0:9101", true
		}},
		{name: "CRI stream address", yaml: "criStreamAddress: 127.0.0.1:10010\n", edit: func(c *daemon.Config) { c.CRIStreamAddress = "127.0.0.1:10010" }},
		{name: "CRI stream address on IPv6 loopback", yaml: "criStreamAddress: '[::1]:0'\n", edit: func(c *daemon.Config) { c.CRIStreamAddress = "[::1]:0" }},
		{name: "remote CRI stream address", yaml: "criStreamAddress: 0.0.0.0:10010\n", wantErr: `criStreamAddress: CRI stream address "0.0.0.0:10010": "0.0.0.0" is not a loopback address`},
		{name: "CRI stream address without port", yaml: "criStreamAddress: 127.0.0.1\n", wantErr: "criStreamAddress"},
		{name: "CRI stream address with a bad port", yaml: "criStreamAddress: 127.0.0.1:http\n", wantErr: `port "http" is not a port number`},
		{name: "metrics address without port", yaml: "metricsAddress: localhost\n", wantErr: "metricsAddress"},
		{name: "cluster DNS keys", yaml: "clusterDNS: false\nclusterDomain: corp.internal\nresolvConf: /etc/podd/resolv.conf\n", edit: func(c *daemon.Config) {
			c.ClusterDNS, c.ClusterDomain, c.ResolvConf = false, "corp.internal", "/etc/podd/resolv.conf"
		}},
		{name: "empty cluster domain", yaml: `clusterDomain: ""`, wantErr: "clusterDomain"},
		{name: "bad cluster domain", yaml: "clusterDomain: a..b\n", wantErr: "clusterDomain"},
		{name: "relative resolv.conf", yaml: "resolvConf: resolv.conf\n", wantErr: `resolvConf: "resolv.conf" is not an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got, want := baseConfig(), baseConfig()
			if tt.edit != nil {
				tt.edit(&want)
			}
			level := "info"
			err := loadConfigFile(path, &got, &level)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("err = %v, want it to name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfigFile: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}
			wantLevel := tt.wantLevel
			if wantLevel == "" {
				wantLevel = "info"
			}
			if level != wantLevel {
				t.Errorf("log level = %q, want %q", level, wantLevel)
			}
		})
	}
}

func TestLoadConfigFileMissing(t *testing.T) {
	dir := t.TempDir()
	old := defaultConfigFile
	t.Cleanup(func() { defaultConfigFile = old })
	defaultConfigFile = filepath.Join(dir, "config.yaml")

	cfg := baseConfig()
	if err := loadConfigFile("", &cfg, nil); err != nil {
		t.Errorf("missing default file: %v, want no error", err)
	}
	if !reflect.DeepEqual(cfg, baseConfig()) {
		t.Errorf("missing default file changed the config: %+v", cfg)
	}
	if err := loadConfigFile(defaultConfigFile, &cfg, nil); err == nil {
		t.Error("missing file named explicitly: no error")
	}

	// The default file is read when it exists; a nil logLevel is allowed.
	if err := os.WriteFile(defaultConfigFile, []byte("nodeName: from-default\nlogLevel: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := loadConfigFile("", &cfg, nil); err != nil || cfg.NodeName != "from-default" {
		t.Errorf("default file: err %v, nodeName %q", err, cfg.NodeName)
	}
}

func TestConfigFileArg(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--root", "/x"}, ""},
		{[]string{"--config", "/etc/c.yaml"}, "/etc/c.yaml"},
		{[]string{"-config=/c.yaml"}, "/c.yaml"},
		{[]string{"--root", "/x", "--config=/c.yaml", "--node-name", "n"}, "/c.yaml"},
		{[]string{"--config"}, ""},
		{[]string{"--", "--config", "/c.yaml"}, ""},
		{[]string{"--configure=x"}, ""},
	}
	for _, tt := range tests {
		if got := configFileArg(tt.args); got != tt.want {
			t.Errorf("configFileArg(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestCRISocketFollowsRunRoot(t *testing.T) {
	for _, tc := range []struct{ given, runRoot, want, err string }{
		{criSocketUnderRunRoot, "/run/podd", "/run/podd/cri.sock", ""},
		{criSocketUnderRunRoot, "/tmp/x/run/", "/tmp/x/run/cri.sock", ""},
		{"/elsewhere/cri.sock", "/tmp/x", "/elsewhere/cri.sock", ""},
		{"", "/tmp/x", "", ""},
		{"cri.sock", "/tmp/x", "", "not an absolute path"},
	} {
		cfg := daemon.Config{CRISocket: tc.given, RunRoot: tc.runRoot}
		err := resolveCRISocket(&cfg)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("resolveCRISocket(%q, %q) error %v, want %q", tc.given, tc.runRoot, err, tc.err)
			continue
		}
		if err == nil && cfg.CRISocket != tc.want {
			t.Errorf("resolveCRISocket(%q, %q) = %q, want %q", tc.given, tc.runRoot, cfg.CRISocket, tc.want)
		}
	}
}
