package shim_test

import (
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

func TestZZ(t *testing.T) {
	p := startPod(t)
	p.create(p.config("a-0", p.rootfs("a"), "sleep", "100"))
	start := time.Now()
	for range 20 {
		p.exec(&shimv1.ExecProcess{Container: "a-0", Args: []string{"true"}})
	}
	t.Logf("exec avg %s", time.Since(start)/20)
	start = time.Now()
	for i := range 10 {
		id := string(rune('b'+i)) + "-0"
		p.create(p.config(id, p.rootfs(id), "true"))
	}
	t.Logf("create avg %s", time.Since(start)/10)
}
