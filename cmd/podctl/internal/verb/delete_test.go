package verb

import (
	"strings"
	"testing"
)

// TestDeleteTargetsClaimsAfterPodsNamespacesLast: delete -f deletes a
// claim after the pods of the file (the daemon refuses to delete a claim
// in use) and namespaces last; the rest keeps the file's order.
func TestDeleteTargetsClaimsAfterPodsNamespacesLast(t *testing.T) {
	m := `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
`
	targets, err := deleteTargets(DeleteOptions{Streams: Streams{In: strings.NewReader(m)}, Files: []string{"-"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range targets {
		got = append(got, r.Kind+"/"+r.Name)
	}
	if want := "ConfigMap/cfg Pod/web PersistentVolumeClaim/data Namespace/shop"; strings.Join(got, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(got, " "), want)
	}
}
