package manifest

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const objectsManifest = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {a: "1"}
binaryData: {b: AAE=}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {password: aHVudGVyMg==}
stringData: {user: admin, password: override}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: c, image: busybox}]
`

func TestParseObjectsDecodesEveryKindInOneFile(t *testing.T) {
	docs, warns, err := ParseObjects([]byte(objectsManifest), "m.yaml", Policy{})
	if err != nil || len(warns) > 0 {
		t.Fatalf("ParseObjects: %v, warnings %v", err, warns)
	}
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, KindOf(d.Object))
	}
	if got := strings.Join(kinds, ","); got != "Namespace,ConfigMap,Secret,PersistentVolumeClaim,Pod" {
		t.Fatalf("kinds %s", got)
	}
	s := docs[2].Object.(*corev1.Secret)
	if s.Namespace != "default" || s.Type != corev1.SecretTypeOpaque || string(s.Data["password"]) != "override" || string(s.Data["user"]) != "admin" || s.StringData != nil {
		t.Errorf("secret not defaulted like the API server: %+v", s)
	}
	if cm := docs[1].Object.(*corev1.ConfigMap); string(cm.BinaryData["b"]) != "\x00\x01" {
		t.Errorf("binaryData %q", cm.BinaryData["b"])
	}
	if c := docs[3].Object.(*corev1.PersistentVolumeClaim); c.Spec.VolumeMode == nil || *c.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("claim volumeMode not defaulted")
	}
	pods, _, err := Parse([]byte(objectsManifest), "m.yaml", Policy{})
	if err != nil || len(pods) != 1 || pods[0].Name != "web" {
		t.Errorf("Parse keeps the pods only: %v %v", pods, err)
	}
}

func TestParseObjectsRejectsBadObjectsNamingTheField(t *testing.T) {
	const secretValue = "top-secret-value"
	big := strings.Repeat("x", MaxDataBytes)
	for _, tc := range []struct {
		name, manifest string
		want           []string
	}{
		{"configmap key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {\"a/b\": x}\n",
			[]string{`configmap "c": data[a/b]: Invalid value: "a/b"`}},
		{"configmap duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: AA==}\n",
			[]string{`data[a]: Invalid value: "a": duplicate of key present in binaryData`}},
		{"configmap too big", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: " + big + "y}\n",
			[]string{`data: Too long: may not be more than 1048576 bytes`}},
		{"secret base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: 'not base64!'}\n",
			[]string{`data[k]: Invalid value: "<secret value>": must be base64 encoded`}},
		{"secret key", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {\"..k\": " + secretValue + "}\n",
			[]string{`stringData[..k]: Invalid value: "..k"`}},
		{"secret type", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\n",
			[]string{`type: Unsupported value: "kubernetes.io/tls"`}},
		{"secret too big", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: " + big + "y}\n",
			[]string{`data: Too long`}},
		{"dockerconfigjson missing", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData: {x: z}\n",
			[]string{`data[.dockerconfigjson]: Required value`}},
		{"dockerconfigjson parse", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{" + secretValue + "'}\n",
			[]string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>"`}},
		{"secret name", "apiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Name}\n", []string{`secret "Bad_Name": metadata.name: Invalid value`}},
		{"namespace name", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n", []string{`namespace "a.b": metadata.name: Invalid value: "a.b"`}},
		{"namespace unknown field", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nspecs: {}\n", []string{`unknown field "specs"`}},
		{"claim modes", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {resources: {requests: {storage: 1Gi}}}\n",
			[]string{`spec.accessModes: Required value`}},
		{"claim mode", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [Sometimes], resources: {requests: {storage: 1Gi}}}\n",
			[]string{`spec.accessModes[0]: Unsupported value: "Sometimes"`}},
		{"claim storage", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce]}\n",
			[]string{`spec.resources[storage]: Required value`}},
		{"claim storage zero", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: '0'}}}\n",
			[]string{`spec.resources[storage]: Invalid value: "0": must be greater than zero`}},
		{"claim block", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nspec: {volumeMode: Block, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
			[]string{`spec.volumeMode: Unsupported value: "Block"`}},
		{"duplicate object", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
			[]string{`document 2: configmap "c": metadata.name: Duplicate value: "c (also in document 1)"`}},
		{"unsupported kind", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: d}\n", []string{`kind "StatefulSet" is not supported`}},
		{"bad one of many", objectsManifest + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {\"a b\": x}\n",
			[]string{`document 6: configmap "c": data[a b]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, _, err := ParseObjects([]byte(tc.manifest), "m.yaml", Policy{})
			if err == nil || docs != nil {
				t.Fatalf("ParseObjects accepted it: %d objects", len(docs))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nwant it to contain\n  %s", err, w)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error shows a secret value: %v", err)
			}
		})
	}
}

func TestDecodeObjectsDropsServerFieldsOfEveryKind(t *testing.T) {
	m := "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, namespace: x, uid: u1}\nstatus: {phase: Terminating}\n"
	docs, warns, err := ParseObjects([]byte(m), "n.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	n := docs[0].Object.(*corev1.Namespace)
	if n.UID != "" || n.Namespace != "" || n.Status.Phase != "" {
		t.Errorf("server fields kept: %+v", n)
	}
	if got := strings.Join(warns, "\n"); !strings.Contains(got, "metadata.uid") || !strings.Contains(got, "status is ignored") || !strings.Contains(got, "metadata.namespace is ignored") {
		t.Errorf("warnings %q", got)
	}
}
