package daemonset

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Labels the controller sets on its pods, as Kubernetes names them.
const (
	// LabelRevisionHash tells the pods of one template apart.
	LabelRevisionHash = appsv1.DefaultDaemonSetUniqueLabelKey
	// LabelTemplateGeneration is the DaemonSet's generation that made a pod.
	LabelTemplateGeneration = appsv1.DeprecatedTemplateGeneration
)

// ConditionNodeMatched is the condition podd adds to say whether this node
// runs the DaemonSet: True when the node matches its nodeSelector and
// required node affinity.
const ConditionNodeMatched appsv1.DaemonSetConditionType = "NodeMatched"

// The reasons of ConditionNodeMatched.
const (
	ReasonNodeMatches  = "NodeMatches"
	ReasonNodeMismatch = "NodeSelectorMismatch"
)

// Node is the one node the daemon runs.
type Node struct {
	Name   string
	Labels map[string]string
}

// Pod is what the controller sees of one pod the DaemonSet owns.
type Pod struct {
	Name string
	// Hash is the pod's controller-revision-hash label.
	Hash  string
	Phase corev1.PodPhase
	// Ready is the pod's Ready condition; ReadySince when it last turned true.
	Ready      bool
	ReadySince time.Time
	// Deleting is true once the pod is terminating.
	Deleting bool
	Created  time.Time
}

// Input is one reconcile's view of the world.
type Input struct {
	DaemonSet *appsv1.DaemonSet
	// Revisions are the DaemonSet's recorded templates.
	Revisions []*appsv1.ControllerRevision
	Node      Node
	Pods      []Pod
	Now       time.Time
}

// Delete is a pod to delete and why.
type Delete struct {
	Pod, Reason string
}

// Actions are what one reconcile asks for, and the resulting status.
type Actions struct {
	// Create asks for a pod of the current template (Hash).
	Create bool
	// Hash is the current template's controller-revision-hash, Revision
	// the number of its revision.
	Hash     string
	Revision int64
	// Save are revisions to create or update (a number bumped by a
	// rollback to it); Forget, by name, those beyond revisionHistoryLimit.
	Save   []*appsv1.ControllerRevision
	Forget []string
	Delete []Delete
	Status appsv1.DaemonSetStatus
	// RequeueAfter, when positive, asks for another reconcile then (a pod
	// becoming available after minReadySeconds).
	RequeueAfter time.Duration
}
