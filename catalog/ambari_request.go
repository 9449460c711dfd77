package catalog

import (
	"time"

	"github.com/topoflow/topoflow/plan"
)

// Ambari restart requests: the contracts and descriptors of
// ambari.restartComponents and ambari.getRequest.

// AmbariRestartIn are the inputs of ambari.restartComponents.
type AmbariRestartIn struct {
	Service   string   `json:"service" required:"true" doc:"service name, e.g. KAFKA"`
	Component string   `json:"component" required:"true" doc:"component name, e.g. KAFKA_BROKER"`
	Hosts     []string `json:"hosts" doc:"host names (default: all hosts of the component)"`
}

// AmbariRestartOut is the result of ambari.restartComponents.
type AmbariRestartOut struct {
	RequestID int      `json:"requestId" doc:"request ID to poll (0: nothing was stale, nothing restarted)"`
	Status    string   `json:"status" doc:"the request's status"`
	Hosts     []string `json:"hosts" doc:"the hosts restarted"`
}

// AmbariRequestIn names an Ambari request.
type AmbariRequestIn struct {
	RequestID int `json:"requestId" required:"true" doc:"request ID"`
}

// AmbariRequestOut is the result of ambari.getRequest.
type AmbariRequestOut struct {
	RequestID        int     `json:"requestId" doc:"request ID"`
	Status           string  `json:"status" doc:"PENDING, QUEUED, IN_PROGRESS, COMPLETED, FAILED, ABORTED, ..."`
	Progress         float64 `json:"progress" doc:"percent done"`
	AbortReason      *string `json:"abortReason,omitempty" doc:"why the request was aborted, when it was"`
	AbortedTaskCount int     `json:"abortedTaskCount" doc:"tasks aborted"`
	FailedTaskCount  int     `json:"failedTaskCount" doc:"tasks failed"`
	TaskCount        int     `json:"taskCount" doc:"tasks in the request"`
}

func init() {
	Register(Typed[AmbariRestartIn, AmbariRestartOut](Action{
		Name: AmbariRestartComponents, Provider: "ambari",
		Title: "Restart a service's components",
		Doc: "POST requests RESTART for the component (operation level SERVICE, so maintenance mode does not skip it); " +
			"hosts empty means every host of the component. Returns the request ID to poll.",
	}))
	Register(Typed[AmbariRequestIn, AmbariRequestOut](Action{
		Name: AmbariGetRequest, Provider: "ambari", Read: true,
		Title: "Get an Ambari request",
		Wait: &plan.Wait{Pending: []string{"Accepted", "PENDING", "QUEUED", "IN_PROGRESS", "InProgress"}, Target: []string{"COMPLETED"},
			Failure:      []string{"FAILED", "ABORTED", "TIMEDOUT", "HOLDING_FAILED", "HOLDING_TIMEDOUT", "SKIPPED_FAILED"},
			PollInterval: plan.D(10 * time.Second), Timeout: plan.D(time.Hour)},
	}))
}
