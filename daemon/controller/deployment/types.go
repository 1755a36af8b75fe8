package deployment

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations the controller sets, as Kubernetes names them.
const (
	// LabelTemplateHash tells the pods (and revisions) of one template apart.
	LabelTemplateHash = appsv1.DefaultDeploymentUniqueLabelKey
	// AnnotationRevision numbers a revision (and the Deployment's current one).
	AnnotationRevision = "deployment.kubernetes.io/revision"
	// AnnotationChangeCause is copied from the Deployment to its revision.
	AnnotationChangeCause = "kubernetes.io/change-cause"
)

// Condition reasons, as the Kubernetes Deployment controller gives them.
const (
	ReasonNewRSCreated             = "NewReplicaSetCreated"
	ReasonFoundNewRS               = "FoundNewReplicaSet"
	ReasonRSUpdated                = "ReplicaSetUpdated"
	ReasonNewRSAvailable           = "NewReplicaSetAvailable"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavail   = "MinimumReplicasUnavailable"
)

// Pod is what the controller sees of one pod the Deployment owns.
type Pod struct {
	Name string
	// Hash is the pod's pod-template-hash label.
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
	Deployment *appsv1.Deployment
	// ReplicaSets are the Deployment's recorded revisions.
	ReplicaSets []*appsv1.ReplicaSet
	Pods        []Pod
	Now         time.Time
}

// Delete is a pod to delete and why.
type Delete struct {
	Pod, Reason string
}

// Actions are what one reconcile asks for, and the resulting status.
type Actions struct {
	// Save are revisions to create or update (a revision number bumped by
	// a rollback to it).
	Save []*appsv1.ReplicaSet
	// Forget are revisions beyond revisionHistoryLimit, by name.
	Forget []string
	// Create is how many pods of Revision's template to create.
	Create int
	// Revision is the revision of the current template.
	Revision *appsv1.ReplicaSet
	Delete   []Delete
	Status   appsv1.DeploymentStatus
	// RequeueAfter, when positive, asks for another reconcile then (a pod
	// becoming available after minReadySeconds, the progress deadline).
	RequeueAfter time.Duration
}
