package manifest

import (
	"strings"
	"testing"
)

func TestDecode_MultiDocumentYAMLSkipsEmptyDocuments(t *testing.T) {
	data := "---\n# only a comment\n---\n" + pod("a", "") + "---\n\n---\n" + pod("b", "") + "...\n"
	data = strings.Replace(data, "...\n", "", 1)
	pods, warns, err := Decode([]byte(data), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 || pods[0].Name != "a" || pods[1].Name != "b" {
		t.Fatalf("got %d pods, want a and b", len(pods))
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q, want none", warns)
	}
}

func TestDecode_JSONStream(t *testing.T) {
	data := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}
	{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	pods, _, err := Decode([]byte(data), "m.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 2 || pods[1].Name != "b" {
		t.Fatalf("got %d pods", len(pods))
	}
}

func TestDecode_JSONUnknownFieldIsError(t *testing.T) {
	data := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","restartPolicy":"Never"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	_, _, err := Decode([]byte(data), "m.json")
	if err == nil || !strings.Contains(err.Error(), `unknown field "metadata.restartPolicy"`) {
		t.Fatalf("err = %v, want unknown field metadata.restartPolicy", err)
	}
}

func TestDecode_YAMLErrorLineCountsEarlierDocuments(t *testing.T) {
	data := pod("a", "") + "---\n" + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n   bad: x\n"
	_, _, err := Decode([]byte(data), "m.yaml")
	// The bad line is line 14 of the file (9 lines of pod a + separator + 4).
	if err == nil || !strings.Contains(err.Error(), "m.yaml: document 2: yaml: line 14:") {
		t.Fatalf("err = %v, want it to point at document 2, line 14", err)
	}
}

func TestDecode_DropsStatusAndServerMetadataWithWarnings(t *testing.T) {
	data := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  uid: '1234'\n  resourceVersion: '7'\n" +
		"spec:\n  containers: [{name: c, image: busybox}]\nstatus:\n  phase: Running\n"
	pods, warns, err := Decode([]byte(data), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if pods[0].UID != "" || pods[0].ResourceVersion != "" || pods[0].Status.Phase != "" {
		t.Errorf("server fields kept: %+v", pods[0].ObjectMeta)
	}
	want := []string{"metadata.uid is set by podd", "metadata.resourceVersion is set by podd", "status is ignored"}
	if len(warns) != len(want) {
		t.Fatalf("warnings %q, want %d", warns, len(want))
	}
	for i, w := range want {
		if !strings.Contains(warns[i], w) || !strings.HasPrefix(warns[i], "m.yaml: ") {
			t.Errorf("warning %q, want it to contain %q", warns[i], w)
		}
	}
}

func TestDecode_EmptyInputIsNoPods(t *testing.T) {
	for _, in := range []string{"", "\n", "# nothing\n", "---\n---\n"} {
		pods, _, err := Decode([]byte(in), "e.yaml")
		if err != nil || len(pods) != 0 {
			t.Errorf("Decode(%q) = %d pods, %v; want none, nil", in, len(pods), err)
		}
	}
}

func TestDecode_InlineDocumentAfterMarker(t *testing.T) {
	data := "--- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: busybox}]}}\n"
	pods, _, err := Decode([]byte(data), "m.yaml")
	if err != nil || len(pods) != 1 || pods[0].Name != "a" {
		t.Fatalf("got %d pods, %v", len(pods), err)
	}
}
