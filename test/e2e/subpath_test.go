package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// subPathVictims is how many containers mount the raced subPath; they
// restart in parallel so the race gets its starts quickly.
const subPathVictims = 8

// subPathRacePod is a pod whose sidecar swaps vol/sub between a directory and
// a link to the host's root while victims with `subPath: sub` restart in a
// loop. A victim that finds the host's path hostMarker under its mount
// records ESCAPED in results, any other run records ok.
func subPathRacePod(tools, results, hostMarker string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Pod
metadata: {name: race}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - {name: vol, emptyDir: {}}
  - {name: tools, hostPath: {path: %s, type: Directory}}
  - {name: results, hostPath: {path: %s, type: Directory}}
  initContainers:
  - name: swapper
    image: busybox:latest
    restartPolicy: Always
    command: ["/tools/swapper", "/vol"]
    volumeMounts:
    - {name: vol, mountPath: /vol}
    - {name: tools, mountPath: /tools, readOnly: true}
  containers:
`, tools, results)
	for i := range subPathVictims {
		fmt.Fprintf(&b, `  - name: victim%d
    image: busybox:latest
    command: ["sh", "-c", "if [ -e /vol%s ]; then echo ESCAPED >> /results/victim%d; else echo ok >> /results/victim%d; fi"]
    volumeMounts:
    - {name: vol, mountPath: /vol, subPath: sub}
    - {name: results, mountPath: /results}
`, i, hostMarker, i, i)
	}
	return b.String()
}

// buildSwapper builds testdata/swapper statically into a fresh host
// directory and returns that directory.
func buildSwapper(t *testing.T) string {
	t.Helper()
	dir := hostDir(t)
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "swapper"), "./testdata/swapper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build swapper: %v\n%s", err, out)
	}
	return dir
}

// countRuns counts the victims' recorded runs and the escaped ones.
func countRuns(t *testing.T, results string) (runs, escaped int) {
	t.Helper()
	for i := range subPathVictims {
		data, err := os.ReadFile(filepath.Join(results, fmt.Sprintf("victim%d", i)))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(string(data)) {
			runs++
			if line == "ESCAPED" {
				escaped++
			}
		}
	}
	return runs, escaped
}

// Issue 7 item 1 (CVE-2021-25741 in the kubelet): a sidecar swapping
// vol/sub between a directory and a link to "/" must never get the host's
// root mounted into a container with `subPath: sub`, over 200 starts.
func TestSubPathSwapRaceNeverMountsTheHost(t *testing.T) {
	const wantRuns = 200
	tools := buildSwapper(t)
	results := hostDir(t)
	// Only the host's root has the results directory at this path.
	marker := filepath.Join(results, "host-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "--backoff-base", "100ms", "--backoff-max", "200ms")
	e.apply(subPathRacePod(tools, results, marker))
	deadline := time.Now().Add(4 * time.Minute)
	var runs, escaped int
	for time.Now().Before(deadline) {
		if runs, escaped = countRuns(t, results); escaped > 0 || runs >= wantRuns {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	p, err := e.pod("race")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d victim runs, %d saw the host; %s", runs, escaped, describeStates(p))
	if escaped > 0 {
		t.Errorf("%d of %d container starts with subPath: sub saw the host's root", escaped, runs)
	}
	if escaped == 0 && runs < wantRuns {
		t.Errorf("only %d victim runs before the deadline, want %d", runs, wantRuns)
	}
	if cs := initContainerStatus(p, "swapper"); cs == nil || cs.RestartCount != 0 || cs.State.Running == nil {
		t.Errorf("the swapper did not run throughout: %+v", cs)
	}
	// Stopped instances are unstaged when replaced: each container holds at
	// most its newest instance's staging (the dir, the subPath, results;
	// the swapper's tools), so hundreds of starts leave no pile of mounts.
	var staged []string
	for _, m := range e.census(t).Mounts {
		if strings.Contains(m, "/staging") {
			staged = append(staged, m)
		}
	}
	if max := 2 * (3*subPathVictims + 2); len(staged) > max {
		t.Errorf("%d staging mounts after %d starts, want at most %d: %v", len(staged), runs, max, staged)
	}
	e.podctl("delete", "pod", "race", "--grace-period", "0")
	e.waitGone("race", 60*time.Second)
	if c := e.census(t); !c.empty() {
		t.Errorf("left after delete: %+v", c)
	}
}

// initContainerStatus returns the named init container's status.
func initContainerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.InitContainerStatuses {
		if p.Status.InitContainerStatuses[i].Name == name {
			return &p.Status.InitContainerStatuses[i]
		}
	}
	return nil
}
