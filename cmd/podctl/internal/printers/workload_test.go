package printers

import (
	"bytes"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", CreationTimestamp: metav1.NewTime(objNow.Add(-time.Minute))},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType}},
		Status: appsv1.DaemonSetStatus{Conditions: []appsv1.DaemonSetCondition{{Type: "NodeMatched", Status: corev1.ConditionFalse,
			Reason: "NodeSelectorMismatch", Message: "node n1 does not match the nodeSelector disk=ssd"}}},
	}
}

func testCronJob() *batchv1.CronJob {
	no := false
	last := metav1.NewTime(objNow.Add(-30 * time.Second))
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "default", CreationTimestamp: metav1.NewTime(objNow.Add(-time.Hour))},
		Spec:       batchv1.CronJobSpec{Schedule: "*/1 * * * *", Suspend: &no, ConcurrencyPolicy: batchv1.ForbidConcurrent},
		Status:     batchv1.CronJobStatus{LastScheduleTime: &last, Active: []corev1.ObjectReference{{Name: "tick-29454481"}}},
	}
}

func TestWorkloadTablesLikeKubectl(t *testing.T) {
	var b bytes.Buffer
	NewTable(&b).Write(ObjectHeader("daemonsets", false), ObjectRow(testDaemonSet(), objNow, false))
	NewTable(&b).Write(ObjectHeader("cronjobs", false), ObjectRow(testCronJob(), objNow, false))
	want := `NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE
agent   0         0         0       0            0           disk=ssd        60s
NAME   SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE
tick   */1 * * * *   <none>     false     1        30s             60m
`
	if b.String() != want {
		t.Errorf("tables:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDescribeWorkloads(t *testing.T) {
	var b bytes.Buffer
	if err := DescribeObject(&b, testDaemonSet()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Node-Selector:  disk=ssd", "Desired Number of Nodes Scheduled: 0", "NodeSelectorMismatch", "node n1 does not match the nodeSelector disk=ssd"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("describe daemonset lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := DescribeObject(&b, testCronJob()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Schedule:", "*/1 * * * *", "Concurrency Policy:", "Forbid", "Active Jobs:", "tick-29454481"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("describe cronjob lacks %q:\n%s", want, b.String())
		}
	}
}
