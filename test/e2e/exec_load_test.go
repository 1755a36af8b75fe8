package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// Issue 13: exec probes at scale. 20 pods with an exec liveness probe
// (`true`) every 2 s make 10 execs a second, the rate of 100 pods probed
// every 10 s. Healthy containers must never be restarted for it: 0 failed
// or timed-out probe runs and 0 restarts once every pod has had
// execLoadRuns probe runs. (Before the fix the probe timeout counted the
// exec's start too; on a busy 2-core host starts took over the 1 s
// timeout, probes timed out and liveness restarted healthy containers.)
// PODD_EXEC_LOAD_PODS changes the pod count.
func TestExecProbesAtScaleRestartNothing(t *testing.T) {
	pods := 20
	if v := os.Getenv("PODD_EXEC_LOAD_PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PODD_EXEC_LOAD_PODS=%q is not a positive number", v)
		}
		pods = n
	}
	const execLoadRuns = 5
	e := newEnv(t, "--log-level", "debug")
	var docs []string
	for i := 0; i < pods; i++ {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: xl%d}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "1000000"]
    livenessProbe: {exec: {command: ["true"]}, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 1}
`, i))
	}
	e.apply(strings.Join(docs, "---\n"))

	// Wait on the probe runs themselves (the daemon's debug log), not on time.
	ran := regexp.MustCompile(`(?m)msg="Probe ran" uid=(\S+) container=c .*probe=Liveness result=(\w+).*$`)
	var runs map[string]int
	var failed []string
	testutil.WaitFor(t, 6*time.Minute, fmt.Sprintf("%d liveness runs in each of %d pods", execLoadRuns, pods), func() (bool, error) {
		runs, failed = map[string]int{}, nil
		for _, m := range ran.FindAllStringSubmatch(e.logBuf.String(), -1) {
			runs[m[1]]++
			if m[2] != "Success" {
				failed = append(failed, m[0])
			}
		}
		if len(failed) > 0 {
			return true, nil
		}
		done := 0
		for _, n := range runs {
			if n >= execLoadRuns {
				done++
			}
		}
		return done == pods, fmt.Errorf("%d of %d pods have had %d runs", done, pods, execLoadRuns)
	})
	if len(failed) > 0 {
		t.Errorf("%d liveness runs of `true` did not succeed, the first: %s", len(failed), failed[0])
	}
	total := 0
	for _, n := range runs {
		total += n
	}
	t.Logf("%d liveness runs in %d pods", total, len(runs))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.client.ListPods(ctx, &poddv1.ListPodsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Pods {
		var pod corev1.Pod
		if err := json.Unmarshal(p.Json, &pod); err != nil {
			t.Fatal(err)
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				// What ended the instance, and the daemon's lines on the
				// pod: what CI's output must show when no log is kept.
				last, _ := json.Marshal(cs.LastTerminationState)
				var lines []string
				for _, l := range strings.Split(e.logBuf.String(), "\n") {
					if strings.Contains(l, string(pod.UID)) && !strings.Contains(l, `msg="Probe ran"`) {
						lines = append(lines, l)
					}
				}
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				t.Errorf("pod %s (uid %s) container %s restarted %d times; its probe is `true`; its last state: %s; the daemon's lines on it but probe runs:\n%s",
					pod.Name, pod.UID, cs.Name, cs.RestartCount, last, strings.Join(lines, "\n"))
			}
		}
	}
}
