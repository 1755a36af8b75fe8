package cni

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultConflist(t *testing.T) {
	tests := []struct {
		name       string
		opts       DefaultOptions
		wantBridge string
		wantSubnet string
		wantRoute  string
		wantData   string
		wantErr    string
	}{
		{name: "defaults", wantBridge: "podd0", wantSubnet: "10.88.0.0/16", wantRoute: "0.0.0.0/0"},
		{
			name:       "test network",
			opts:       DefaultOptions{Bridge: "pdtab12", Subnet: "10.250.7.0/24", IPAMDataDir: "/tmp/x/cni/ipam"},
			wantBridge: "pdtab12", wantSubnet: "10.250.7.0/24", wantRoute: "0.0.0.0/0", wantData: "/tmp/x/cni/ipam",
		},
		{name: "ipv6", opts: DefaultOptions{Subnet: "fd00:88::/64"}, wantBridge: "podd0", wantSubnet: "fd00:88::/64", wantRoute: "::/0"},
		{name: "bad subnet", opts: DefaultOptions{Subnet: "10.88.0.0"}, wantErr: "subnet"},
		{name: "host bits", opts: DefaultOptions{Subnet: "10.88.0.1/16"}, wantErr: "host bits"},
		{name: "bridge too long", opts: DefaultOptions{Bridge: "a-very-long-bridge"}, wantErr: "bridge"},
		{name: "relative data dir", opts: DefaultOptions{IPAMDataDir: "ipam"}, wantErr: "not absolute"},
		{name: "bad network name", opts: DefaultOptions{Name: "a b"}, wantErr: "network name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := DefaultConflist(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := ParseNetwork(data)
			if err != nil {
				t.Fatalf("generated list does not parse: %v", err)
			}
			var got struct {
				CNIVersion string `json:"cniVersion"`
				Name       string `json:"name"`
				Plugins    []struct {
					Type         string          `json:"type"`
					Bridge       string          `json:"bridge"`
					IsGateway    bool            `json:"isGateway"`
					IPMasq       bool            `json:"ipMasq"`
					HairpinMode  bool            `json:"hairpinMode"`
					Capabilities map[string]bool `json:"capabilities"`
					IPAM         struct {
						Type    string                `json:"type"`
						Ranges  [][]map[string]string `json:"ranges"`
						Routes  []map[string]string   `json:"routes"`
						DataDir string                `json:"dataDir"`
					} `json:"ipam"`
				} `json:"plugins"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if got.CNIVersion != "1.0.0" || got.Name != "podd" || n.Name != "podd" || len(got.Plugins) != 2 {
				t.Fatalf("header = %s %s, %d plugins", got.CNIVersion, got.Name, len(got.Plugins))
			}
			br, pm := got.Plugins[0], got.Plugins[1]
			if br.Type != "bridge" || br.Bridge != tt.wantBridge || !br.IsGateway || !br.IPMasq || !br.HairpinMode {
				t.Errorf("bridge plugin = %+v", br)
			}
			if br.IPAM.Type != "host-local" || br.IPAM.Ranges[0][0]["subnet"] != tt.wantSubnet ||
				br.IPAM.Routes[0]["dst"] != tt.wantRoute || br.IPAM.DataDir != tt.wantData {
				t.Errorf("ipam = %+v", br.IPAM)
			}
			if pm.Type != "portmap" || !pm.Capabilities["portMappings"] {
				t.Errorf("portmap plugin = %+v", pm)
			}
		})
	}
}

func TestLoadNetwork(t *testing.T) {
	conflist := func(name string) string {
		return `{"cniVersion":"1.0.0","name":"` + name + `","plugins":[{"type":"bridge"}]}`
	}
	tests := []struct {
		name     string
		files    map[string]string
		wantName string
		wantFile string
		wantErr  bool
	}{
		{name: "empty dir gets the default", wantName: "podd", wantFile: DefaultConflistFile},
		{name: "lexical first wins", files: map[string]string{"20-b.conflist": conflist("b"), "10-a.conflist": conflist("a")}, wantName: "a", wantFile: "10-a.conflist"},
		{name: "conf mixes with conflist", files: map[string]string{"05-c.conf": `{"cniVersion":"1.0.0","name":"c","type":"bridge"}`, "10-a.conflist": conflist("a")}, wantName: "c", wantFile: "05-c.conf"},
		{name: "invalid skipped", files: map[string]string{"01-bad.conflist": "{", "10-a.conflist": conflist("a")}, wantName: "a", wantFile: "10-a.conflist"},
		{name: "other extensions ignored", files: map[string]string{"README": "x", "99.json": conflist("j")}, wantName: "podd", wantFile: DefaultConflistFile},
		{name: "only invalid is an error", files: map[string]string{"01-bad.conflist": "{"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n, err := LoadNetwork(dir, DefaultOptions{IPAMDataDir: "/tmp/ipam"})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("LoadNetwork succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Name != tt.wantName || n.File != filepath.Join(dir, tt.wantFile) {
				t.Fatalf("loaded %q from %q, want %q from %q", n.Name, n.File, tt.wantName, tt.wantFile)
			}
			if _, err := ParseNetwork(n.Bytes); err != nil {
				t.Fatalf("Bytes do not parse back: %v", err)
			}
		})
	}
}

func TestLoadExistingWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadExisting(dir); err == nil || !strings.Contains(err.Error(), "no CNI configuration in "+dir) {
		t.Errorf("LoadExisting of an empty dir = %v", err)
	}
	if files, _ := ConfFiles(dir); len(files) != 0 {
		t.Errorf("LoadExisting wrote %v", files)
	}
	if err := os.WriteFile(filepath.Join(dir, "00-bad.conflist"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadExisting(dir); err == nil || !strings.Contains(err.Error(), "no valid cni configuration") {
		t.Errorf("LoadExisting with only a broken file = %v", err)
	}
	good := `{"cniVersion":"1.0.0","name":"good","plugins":[{"type":"bridge"}]}`
	if err := os.WriteFile(filepath.Join(dir, "10-good.conflist"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := LoadExisting(dir); err != nil || n.Name != "good" {
		t.Errorf("LoadExisting = %v, %v; want the valid file after the broken one", n, err)
	}
}

// A sandbox without a hostPort runs the list without its port mapper: the
// portmap exec does nothing on such an ADD and rewrites the nat chains on
// its DEL (issue 13: a CNI ADD was ~280 ms). Plugins with other
// capabilities stay, and a list without a port mapper is used as it is.
func TestNetworkWithoutPortMappers(t *testing.T) {
	def, err := DefaultConflist(DefaultOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		conf                 string
		wantNoPorts, wantAll []string
	}{
		{name: "default", conf: string(def), wantNoPorts: []string{"bridge"}, wantAll: []string{"bridge", "portmap"}},
		{
			name: "portmap and bandwidth",
			conf: `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge","bridge":"b0"},` +
				`{"type":"portmap","capabilities":{"portMappings":true}},` +
				`{"type":"bandwidth","capabilities":{"bandwidth":true}},` +
				`{"type":"x","capabilities":{"portMappings":true,"ips":true}}]}`,
			wantNoPorts: []string{"bridge", "bandwidth", "x"}, wantAll: []string{"bridge", "portmap", "bandwidth", "x"},
		},
		{
			name:        "no port mapper",
			conf:        `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge","bridge":"b0"},{"type":"firewall"}]}`,
			wantNoPorts: []string{"bridge", "firewall"}, wantAll: []string{"bridge", "firewall"},
		},
		{
			name:        "only a port mapper",
			conf:        `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"portmap","capabilities":{"portMappings":true}}]}`,
			wantNoPorts: []string{"portmap"}, wantAll: []string{"portmap"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNetwork([]byte(tt.conf))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				ports bool
				want  []string
			}{{false, tt.wantNoPorts}, {true, tt.wantAll}} {
				list := n.forAttachment(c.ports)
				var got []string
				for _, p := range list.Plugins {
					got = append(got, p.Network.Type)
				}
				if strings.Join(got, ",") != strings.Join(c.want, ",") {
					t.Errorf("ports=%v: plugins %v, want %v", c.ports, got, c.want)
				}
				// The bytes libcni caches for DEL hold the same plugins.
				var raw struct {
					Name    string `json:"name"`
					Plugins []struct {
						Type string `json:"type"`
					} `json:"plugins"`
				}
				if err := json.Unmarshal(list.Bytes, &raw); err != nil || raw.Name != n.Name || len(raw.Plugins) != len(c.want) {
					t.Errorf("ports=%v: list bytes %s (%v) do not match the plugins %v", c.ports, list.Bytes, err, c.want)
				}
			}
		})
	}
}
