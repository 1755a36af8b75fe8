package daemon

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/userns"
	"github.com/podd-dev/podd/runtime/idmap"
)

// A restarted daemon claims the user namespaces its pods hold before any
// worker runs: a new pod gets another block.
func TestClaimUserNamespacesOnRestore(t *testing.T) {
	ids, err := userns.New(1<<20, 2*userns.DefaultSize, userns.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{deps: &podworker.Deps{UserNS: ids}}
	held := []idmap.Range{{ContainerID: 0, HostID: 1 << 20, Size: userns.DefaultSize}}
	outside := []idmap.Range{{ContainerID: 0, HostID: 1 << 24, Size: userns.DefaultSize}}
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b", UID: "b"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c", UID: "c"}},
	}
	states := []*podworker.State{{UserNS: &idmap.Mappings{UIDs: held, GIDs: held}}, {}, {UserNS: &idmap.Mappings{UIDs: outside, GIDs: outside}}}
	d.claimUserNamespaces(pods, states)
	m, err := ids.Allocate("new")
	if err != nil || m.UIDs[0].HostID != 1<<20+userns.DefaultSize {
		t.Errorf("a new pod got %v (%v), want the block after the held one", m, err)
	}
}
