package cri

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/procusage"
)

// fakeUsage serves scripted cgroup samples (each read takes the next one,
// the last repeats), writable layers and interfaces.
type fakeUsage struct {
	mu      sync.Mutex
	samples map[string][]cgroupusage.Sample
	reads   []string
	layers  map[string]diskusage.Usage
	ifs     map[string][]Interface
	// For the metrics: cgroup stats by path, what any set of processes
	// holds (procsAsked records the sets), open files limits by pid,
	// writable layers' filesystems by container, device names.
	stats      map[string]cgroupusage.Stats
	procs      procusage.Usage
	procsAsked [][]int
	nofile     map[int]uint64
	fs         map[string]diskusage.FS
	devices    map[[2]uint64]string
}

func (f *fakeUsage) Cgroup(path string) (cgroupusage.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, path)
	ss := f.samples[path]
	if len(ss) == 0 {
		return cgroupusage.Sample{}, errors.New("no such cgroup")
	}
	s := ss[0]
	if len(ss) > 1 {
		f.samples[path] = ss[1:]
	}
	return s, nil
}

func (f *fakeUsage) WritableLayer(_ context.Context, id string) (diskusage.Usage, error) {
	u, ok := f.layers[id]
	if !ok {
		return diskusage.Usage{}, errors.New("no upper dir")
	}
	return u, nil
}

func (f *fakeUsage) Interfaces(path string) ([]Interface, error) {
	ifs, ok := f.ifs[path]
	if !ok {
		return nil, errors.New("no netns")
	}
	return ifs, nil
}

func (f *fakeUsage) CgroupStats(path string) (cgroupusage.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, path)
	st, ok := f.stats[path]
	if !ok {
		return cgroupusage.Stats{}, errors.New("no such cgroup")
	}
	return st, nil
}

func (f *fakeUsage) Processes(pids []int) procusage.Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procsAsked = append(f.procsAsked, pids)
	return f.procs
}

func (f *fakeUsage) MaxOpenFiles(pid int) (uint64, error) {
	n, ok := f.nofile[pid]
	if !ok {
		return 0, errors.New("no such process")
	}
	return n, nil
}

func (f *fakeUsage) WritableLayerFS(id string) (diskusage.FS, error) {
	fs, ok := f.fs[id]
	if !ok {
		return diskusage.FS{}, errors.New("no upper dir")
	}
	return fs, nil
}

func (f *fakeUsage) DeviceName(major, minor uint64) string {
	if n, ok := f.devices[[2]uint64{major, minor}]; ok {
		return n
	}
	return fmt.Sprintf("%d:%d", major, minor)
}

// statsFixture is two ready sandboxes (web with a running container "app"
// and a created one "side", db with a running "sql") and a stopped one.
type statsFixture struct {
	rc                   runtimeapi.RuntimeServiceClient
	usage                *fakeUsage
	web, db, gone        string
	app, side, sql       string
	webCgroup, appCgroup string
}

func newStatsFixture(t *testing.T) statsFixture {
	t.Helper()
	cfg, fs, _ := containerTestConfig()
	u := &fakeUsage{
		samples: map[string][]cgroupusage.Sample{}, layers: map[string]diskusage.Usage{}, ifs: map[string][]Interface{},
		stats: map[string]cgroupusage.Stats{}, nofile: map[int]uint64{}, fs: map[string]diskusage.FS{}, devices: map[[2]uint64]string{},
	}
	cfg.Usage = u
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	run := func(name string) string {
		t.Helper()
		r, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig(name, nil)})
		if err != nil {
			t.Fatal(err)
		}
		return r.PodSandboxId
	}
	create := func(sb, name string, start bool) string {
		t.Helper()
		r, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb, Config: containerConfig(name, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if start {
			if _, err := rc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: r.ContainerId}); err != nil {
				t.Fatal(err)
			}
		}
		return r.ContainerId
	}
	f := statsFixture{rc: rc, usage: u}
	f.web, f.db, f.gone = run("web"), run("db"), run("gone")
	f.app, f.side, f.sql = create(f.web, "app", true), create(f.web, "side", false), create(f.db, "sql", true)
	if _, err := rc.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: f.gone}); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	for i := range fs.sbs {
		fs.sbs[i].Cgroup = "/podd/cri/" + fs.sbs[i].ID[:4]
		fs.sbs[i].NetnsPath = "/run/netns/" + fs.sbs[i].ID[:4]
	}
	fs.mu.Unlock()
	f.webCgroup = "/podd/cri/" + f.web[:4]
	f.appCgroup = f.webCgroup + "/" + f.app
	return f
}

var t0 = time.Unix(1000, 0)

// ContainerStats of a running container: CPU from its cgroup (usage_nano_cores
// 0 at the first sample, the rate since the previous one after), memory as
// the kubelet counts it (available only under a limit), the writable layer
// on the image filesystem.
func TestContainerStats(t *testing.T) {
	f := newStatsFixture(t)
	ctx := context.Background()
	f.usage.samples[f.appCgroup] = []cgroupusage.Sample{
		{CPU: 2 * time.Second, WorkingSet: 700, MemoryUsage: 1000, RSS: 600, PageFaults: 9, MajorPageFaults: 1, MemoryLimit: 4000, At: t0},
		{CPU: 2*time.Second + 500*time.Millisecond, WorkingSet: 800, MemoryUsage: 1100, At: t0.Add(2 * time.Second)},
	}
	f.usage.layers[f.app] = diskusage.Usage{Bytes: 8192, Inodes: 5}
	r, err := f.rc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: f.app})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stats
	if a := s.Attributes; a.Id != f.app || a.Metadata.Name != "app" || a.Labels["c"] != "app" || a.Annotations["a"] != "1" {
		t.Errorf("attributes %v", a)
	}
	if c := s.Cpu; c.Timestamp != t0.UnixNano() || c.UsageCoreNanoSeconds.Value != 2e9 || c.UsageNanoCores.Value != 0 {
		t.Errorf("first cpu %v, want 2e9 core ns and no rate yet", c)
	}
	m := s.Memory
	if m.WorkingSetBytes.Value != 700 || m.UsageBytes.Value != 1000 || m.RssBytes.Value != 600 || m.PageFaults.Value != 9 ||
		m.MajorPageFaults.Value != 1 || m.AvailableBytes.GetValue() != 3300 {
		t.Errorf("memory %v", m)
	}
	if w := s.WritableLayer; w.FsId.Mountpoint != "/var/lib/podd/images" || w.UsedBytes.Value != 8192 || w.InodesUsed.Value != 5 {
		t.Errorf("writable layer %v", w)
	}
	r, err = f.rc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: f.app})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Stats.Cpu.UsageNanoCores.Value; got != 25e7 {
		t.Errorf("usage_nano_cores %d after 0.5 s of CPU in 2 s, want 250000000", got)
	}
	if r.Stats.Memory.AvailableBytes != nil {
		t.Errorf("available_bytes %v without a limit, want none", r.Stats.Memory.AvailableBytes)
	}
	// A created container has no CPU or memory yet; its cgroup is not read.
	f.usage.reads = nil
	r, err = f.rc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: f.side})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.Cpu != nil || r.Stats.Memory != nil || r.Stats.WritableLayer != nil || len(f.usage.reads) != 0 {
		t.Errorf("created container's stats %v (cgroups read %v), want attributes only", r.Stats, f.usage.reads)
	}
	if _, err := f.rc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: "nope"}); code(err) != codes.NotFound {
		t.Errorf("ContainerStats of an unknown container: %v", err)
	}
	if _, err := f.rc.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("ContainerStats without an ID: %v", err)
	}
}

func TestListContainerStatsFilters(t *testing.T) {
	f := newStatsFixture(t)
	for _, tc := range []struct {
		name string
		f    *runtimeapi.ContainerStatsFilter
		want []string
	}{
		{"no filter: every container", nil, []string{"app", "side", "sql"}},
		{"by ID prefix", &runtimeapi.ContainerStatsFilter{Id: f.sql[:3]}, []string{"sql"}},
		{"by sandbox", &runtimeapi.ContainerStatsFilter{PodSandboxId: f.web}, []string{"app", "side"}},
		{"by label", &runtimeapi.ContainerStatsFilter{LabelSelector: map[string]string{"c": "side"}}, []string{"side"}},
		{"label and sandbox disagree", &runtimeapi.ContainerStatsFilter{PodSandboxId: f.db, LabelSelector: map[string]string{"c": "app"}}, nil},
		{"unknown ID", &runtimeapi.ContainerStatsFilter{Id: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := f.rc.ListContainerStats(context.Background(), &runtimeapi.ListContainerStatsRequest{Filter: tc.f})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Stats {
				got = append(got, s.Attributes.Metadata.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("stats of %v, want %v", got, tc.want)
			}
		})
	}
}

// PodSandboxStats: the pod cgroup's CPU, memory and process count, the
// netns interfaces with CNI's eth0 as the default one, and the sandbox's
// containers; a sandbox that is not ready has its attributes only.
func TestPodSandboxStats(t *testing.T) {
	f := newStatsFixture(t)
	ctx := context.Background()
	f.usage.samples[f.webCgroup] = []cgroupusage.Sample{
		{CPU: time.Second, WorkingSet: 5000, MemoryUsage: 6000, Processes: 3, At: t0},
		{CPU: 3 * time.Second, WorkingSet: 5000, MemoryUsage: 6000, Processes: 3, At: t0.Add(time.Second)},
	}
	f.usage.samples[f.appCgroup] = []cgroupusage.Sample{{CPU: time.Second, WorkingSet: 100, At: t0}}
	f.usage.ifs["/run/netns/"+f.web[:4]] = []Interface{
		{Name: "net1", RxBytes: 1}, {Name: "eth0", Default: true, RxBytes: 100, TxBytes: 200, RxErrors: 1, TxErrors: 2},
	}
	r, err := f.rc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: f.web})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stats
	if a := s.Attributes; a.Id != f.web || a.Metadata.Name != "web" || a.Labels["app"] != "web" || a.Annotations["note"] != "x" {
		t.Errorf("attributes %v", a)
	}
	l := s.Linux
	if l.Cpu.UsageCoreNanoSeconds.Value != 1e9 || l.Memory.WorkingSetBytes.Value != 5000 || l.Process.ProcessCount.Value != 3 {
		t.Errorf("pod cgroup stats cpu %v memory %v process %v", l.Cpu, l.Memory, l.Process)
	}
	n := l.Network
	if d := n.DefaultInterface; d.Name != "eth0" || d.RxBytes.Value != 100 || d.TxBytes.Value != 200 || d.RxErrors.Value != 1 || d.TxErrors.Value != 2 {
		t.Errorf("default interface %v", d)
	}
	if len(n.Interfaces) != 1 || n.Interfaces[0].Name != "net1" {
		t.Errorf("other interfaces %v, want net1", n.Interfaces)
	}
	var names []string
	for _, c := range l.Containers {
		names = append(names, c.Attributes.Metadata.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"app", "side"}) {
		t.Errorf("containers %v, want app and side", names)
	}
	// The second sample gives the pod's CPU rate: 2 s of CPU in 1 s.
	r, err = f.rc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: f.web})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Stats.Linux.Cpu.UsageNanoCores.Value; got != 2e9 {
		t.Errorf("pod usage_nano_cores %d, want 2e9", got)
	}
	r, err = f.rc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: f.gone})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stats.Linux != nil || r.Stats.Attributes.Metadata.Name != "gone" {
		t.Errorf("stopped sandbox's stats %v, want attributes only", r.Stats)
	}
	if _, err := f.rc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: "nope"}); code(err) != codes.NotFound {
		t.Errorf("PodSandboxStats of an unknown sandbox: %v", err)
	}
	if _, err := f.rc.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("PodSandboxStats without an ID: %v", err)
	}
}

func TestListPodSandboxStatsFilters(t *testing.T) {
	f := newStatsFixture(t)
	for _, tc := range []struct {
		name string
		f    *runtimeapi.PodSandboxStatsFilter
		want []string
	}{
		{"no filter: the ready sandboxes", nil, []string{"db", "web"}},
		{"by ID prefix", &runtimeapi.PodSandboxStatsFilter{Id: f.db[:3]}, []string{"db"}},
		{"by label", &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"app": "web"}}, []string{"web"}},
		{"a stopped sandbox is left out", &runtimeapi.PodSandboxStatsFilter{Id: f.gone}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := f.rc.ListPodSandboxStats(context.Background(), &runtimeapi.ListPodSandboxStatsRequest{Filter: tc.f})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Stats {
				got = append(got, s.Attributes.Metadata.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("stats of %v, want %v", got, tc.want)
			}
		})
	}
}

// The rate needs two samples of the same ID in time order; a removed ID's
// sample is forgotten, so one re-created under it starts over.
func TestCPUSamples(t *testing.T) {
	var c cpuSamples
	at := func(cpu time.Duration, sec int) cgroupusage.Sample {
		return cgroupusage.Sample{CPU: cpu, At: t0.Add(time.Duration(sec) * time.Second)}
	}
	for i, step := range []struct {
		id   string
		s    cgroupusage.Sample
		want uint64
	}{
		{"a", at(time.Second, 0), 0},
		{"b", at(0, 0), 0},
		{"a", at(2*time.Second, 4), 25e7},
		{"a", at(3*time.Second, 3), 0}, // older than the kept one: ignored
		{"a", at(6*time.Second, 6), 2e9},
		{"b", at(time.Second, 1), 1e9},
	} {
		if got := c.nanoCores(step.id, step.s); got != step.want {
			t.Errorf("step %d (%s): %d nanocores, want %d", i, step.id, got, step.want)
		}
	}
	c.keep(map[string]bool{"b": true})
	if got := c.nanoCores("a", at(7*time.Second, 7)); got != 0 {
		t.Errorf("a after it was forgotten: %d nanocores, want 0", got)
	}
	if got := c.nanoCores("b", at(2*time.Second, 2)); got != 1e9 {
		t.Errorf("b kept: %d nanocores, want 1e9", got)
	}
}
