package printers

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var objNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "shop", CreationTimestamp: metav1.NewTime(objNow.Add(-90 * time.Second))},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("hunter2"), "user": []byte("admin")},
	}
}

func testClaim() *corev1.PersistentVolumeClaim {
	sc := "local"
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop", UID: "u1", CreationTimestamp: metav1.NewTime(objNow.Add(-2 * time.Hour))},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany},
			StorageClassName: &sc},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadOnlyMany},
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}},
	}
}

func TestObjectTablesLikeKubectl(t *testing.T) {
	var b bytes.Buffer
	tab := NewTable(&b)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "shop", CreationTimestamp: metav1.NewTime(objNow.Add(-time.Minute))},
		Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": {0}}}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", CreationTimestamp: metav1.NewTime(objNow.Add(-time.Minute))},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	tab.Write(ObjectHeader("secrets", true), ObjectRow(testSecret(), objNow, true))
	tab = NewTable(&b)
	tab.Write(ObjectHeader("configmaps", false), ObjectRow(cm, objNow, false))
	tab = NewTable(&b)
	tab.Write(ObjectHeader("persistentvolumeclaims", false), ObjectRow(testClaim(), objNow, false))
	tab = NewTable(&b)
	tab.Write(ObjectHeader("namespaces", true), ObjectRow(ns, objNow, true))
	want := `NAMESPACE   NAME    TYPE     DATA   AGE
shop        creds   Opaque   2      90s
NAME   DATA   AGE
cfg    2      60s
NAME   STATUS   VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE
data   Bound    pvc-u1   5Gi        ROX,RWO        local          <unset>                 120m
NAME   STATUS   AGE
shop   Active   60s
`
	if b.String() != want {
		t.Errorf("tables:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDescribeSecretShowsKeysAndSizesOnly(t *testing.T) {
	var b bytes.Buffer
	if err := DescribeObject(&b, testSecret()); err != nil {
		t.Fatal(err)
	}
	want := `Name:         creds
Namespace:    shop
Labels:       <none>
Annotations:  <none>

Type:  Opaque

Data
====
password:  7 bytes
user:      5 bytes
`
	if b.String() != want {
		t.Errorf("describe secret:\n%s\nwant:\n%s", b.String(), want)
	}
	for _, v := range []string{"hunter2", "admin", "aHVudGVyMg"} {
		if strings.Contains(b.String(), v) {
			t.Errorf("describe shows %q", v)
		}
	}
}

func TestDescribeClaimShowsModesAndCapacity(t *testing.T) {
	var b bytes.Buffer
	if err := DescribeObject(&b, testClaim()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"StorageClass:  local\n", "Status:        Bound\n", "Volume:        pvc-u1\n", "Capacity:      5Gi\n", "Access Modes:  ROX,RWO\n", "VolumeMode:    Filesystem\n"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("describe pvc lacks %q:\n%s", w, b.String())
		}
	}
}

func TestWriteObjectsSecretBase64AndNames(t *testing.T) {
	var b bytes.Buffer
	if err := WriteObjects(&b, []Object{testSecret()}, "Secret", FormatYAML, false); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"apiVersion: v1\n", "kind: Secret\n", "password: aHVudGVyMg==\n", "user: YWRtaW4=\n"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("yaml lacks %q:\n%s", w, b.String())
		}
	}
	b.Reset()
	if err := WriteObjects(&b, []Object{testClaim()}, "PersistentVolumeClaim", FormatName, true); err != nil {
		t.Fatal(err)
	}
	if b.String() != "persistentvolumeclaim/data\n" {
		t.Errorf("name output %q", b.String())
	}
	b.Reset()
	if err := WriteObjects(&b, nil, "ConfigMap", FormatJSON, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"items": []`) || !strings.Contains(b.String(), `"kind": "List"`) {
		t.Errorf("empty list:\n%s", b.String())
	}
}
