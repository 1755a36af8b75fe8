package e2e

import (
	"testing"
	"time"
)

func TestZZDebugSlowHook(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: slowhook}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:latest
    command: ` + politeSleeper + `
    lifecycle:
      postStart:
        exec: {command: ["sleep", "2"]}
`)
	start := time.Now()
	for time.Since(start) < 8*time.Second {
		p, _ := e.pod("slowhook")
		t.Logf("%s %s %s", time.Since(start).Round(10*time.Millisecond), p.Status.Phase, describeStates(p))
		time.Sleep(500 * time.Millisecond)
	}
	t.Log(e.podctl("describe", "pod", "slowhook"))
	t.Log(tail(e.logBuf.String(), 30))
}
