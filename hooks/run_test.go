package hooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podd-dev/podd/internal/version"
)

// fakeExecer returns its fields; with hang it blocks until release is closed,
// ignoring ctx, like a stuck runtime.
type fakeExecer struct {
	code    int
	out     string
	err     error
	hang    bool
	release chan struct{}

	gotContainer string
	gotTimeout   time.Duration
}

func (f *fakeExecer) Exec(_ context.Context, container string, _ []string, timeout time.Duration) (int, []byte, bool, error) {
	f.gotContainer, f.gotTimeout = container, timeout
	if f.hang {
		<-f.release
	}
	return f.code, []byte(f.out), false, f.err
}

func execHook(cmd ...string) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: cmd}}
}

var web0 = Target{PodIP: "127.0.0.1", ContainerID: "web-0"}

func TestRun_R53_Exec(t *testing.T) {
	tests := []struct {
		name    string
		e       *fakeExecer
		wantOut string
		wantErr string
	}{
		{"exit 0 succeeds", &fakeExecer{out: "done"}, "done", ""},
		{"non-zero exit fails", &fakeExecer{code: 3, out: "boom"}, "boom", `exec ["sh" "-c" "drain"] hook: exited with code 3: "boom"`},
		{"could not start", &fakeExecer{err: errors.New("container not running")}, "", "container not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Run(context.Background(), execHook("sh", "-c", "drain"), web0, tt.e, time.Now().Add(time.Minute))
			if out != tt.wantOut || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run = (%q, %v), want (%q, ~%q)", out, err, tt.wantOut, tt.wantErr)
			}
			if tt.e.gotContainer != "web-0" || tt.e.gotTimeout <= 50*time.Second || tt.e.gotTimeout > time.Minute {
				t.Fatalf("execer got container %q timeout %s, want web-0 and about a minute", tt.e.gotContainer, tt.e.gotTimeout)
			}
		})
	}
}

func TestRun_R50_ExecCutShortByDeadline(t *testing.T) {
	e := &fakeExecer{hang: true, release: make(chan struct{})}
	t.Cleanup(func() { close(e.release) })
	start := time.Now()
	_, err := Run(context.Background(), execHook("sleep", "100"), web0, e, start.Add(100*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `exec ["sleep" "100"] hook`) {
		t.Fatalf("Run err = %v, want a deadline error naming the handler", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Run took %s past a 100ms deadline", d)
	}
}

func TestRun_R53_HTTPGet(t *testing.T) {
	var gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "drained")
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	target := Target{PodIP: "127.0.0.1", ContainerPorts: []corev1.ContainerPort{{Name: "admin", ContainerPort: int32(port)}}}
	get := func(path string, port intstr.IntOrString) *corev1.LifecycleHandler {
		return &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}}
	}
	deadline := time.Now().Add(time.Minute)

	out, err := Run(context.Background(), get("/drain", intstr.FromString("admin")), target, nil, deadline)
	if err != nil || out != "drained" {
		t.Fatalf("Run = (%q, %v), want the body", out, err)
	}
	if gotUA != "kube-lifecycle/"+version.Version {
		t.Fatalf("User-Agent = %q", gotUA)
	}

	hostNet := Target{PodIP: "192.0.2.1", HostNetwork: true}
	if _, err := Run(context.Background(), get("/drain", intstr.FromInt32(int32(port))), hostNet, nil, deadline); err != nil {
		t.Fatalf("hostNetwork hook did not go to 127.0.0.1: %v", err)
	}

	_, err = Run(context.Background(), get("/fail", intstr.FromString("admin")), target, nil, deadline)
	want := fmt.Sprintf("httpGet http://127.0.0.1:%d/fail hook: HTTP probe failed with statuscode: 500", port)
	if err == nil || err.Error() != want {
		t.Fatalf("Run err = %v, want %q", err, want)
	}

	if _, err := Run(context.Background(), get("/x", intstr.FromString("nope")), target, nil, deadline); err == nil || !strings.Contains(err.Error(), "httpGet hook") {
		t.Fatalf("unknown port name: err = %v", err)
	}
}

func TestRun_R53_Sleep(t *testing.T) {
	sleep := func(s int64) *corev1.LifecycleHandler {
		return &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: s}}
	}
	t.Run("waits then succeeds", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		if _, err := Run(context.Background(), sleep(1), web0, nil, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("sleep 1 returned after %s", d)
		}
	})
	t.Run("cut short by the deadline", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		_, err := Run(context.Background(), sleep(30), web0, nil, start.Add(100*time.Millisecond))
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "sleep 30s hook: ") {
			t.Fatalf("Run err = %v, want a deadline error naming sleep 30s", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("sleep ran %s past a 100ms deadline", d)
		}
	})
	t.Run("cut short by ctx", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Run(ctx, sleep(30), web0, nil, time.Time{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run err = %v, want context.Canceled", err)
		}
	})
}

func TestRun_R53_TCPSocketDoesNothing(t *testing.T) {
	h := &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}}
	if out, err := Run(context.Background(), h, Target{}, nil, time.Time{}); out != "" || err != nil {
		t.Fatalf("Run = (%q, %v), want nothing", out, err)
	}
}

func TestRun_Errors(t *testing.T) {
	past := time.Now().Add(-time.Second)
	tests := []struct {
		name    string
		h       *corev1.LifecycleHandler
		e       Execer
		wantErr string
	}{
		{"nil handler", nil, nil, "no handler"},
		{"empty handler", &corev1.LifecycleHandler{}, nil, "no action"},
		{"exec without execer", execHook("true"), nil, "no execer"},
		{"exec without command", execHook(), &fakeExecer{}, "empty command"},
		{"deadline already passed", execHook("true"), &fakeExecer{}, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tt.h, web0, tt.e, past); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run err = %v, want ~%q", err, tt.wantErr)
			}
		})
	}
}
