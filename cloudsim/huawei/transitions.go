package huawei

import (
	"encoding/json"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The Huawei twin's state machines as durable transitions
// (cloudsim.Transition: a twin restarted with its state directory completes
// them at their deadlines), and its records outside the inventory (the
// endpoint marker counter, the DMS instances' background tasks) in the
// durable state.

// transitions are the schedulers of the Huawei state machines.
type transitions struct {
	dmsRestarted    func(time.Duration, string)
	serviceCreated  func(time.Duration, string)
	endpointCreated func(time.Duration, endpointCreate)
	deleteLater     func(time.Duration, objectRef)
	dmsExtended     func(time.Duration, dmsExtend)
}

// dmsExtend is a DMS scale-out ending: the instance gets brokers up to Want.
type dmsExtend struct {
	ID   string `json:"id"`
	Want int    `json:"want"`
}

// objectRef names an inventory object.
type objectRef struct {
	Kind inventory.Kind `json:"kind"`
	ID   string         `json:"id"`
}

func (a *api) registerTransitions(s *cloudsim.Sim) {
	t := &a.transitions
	t.dmsRestarted = cloudsim.Transition(s, "huawei.dms.restart", func(id string) {
		_, _ = inventory.Update(a.inv, id, func(k *inventory.KafkaInstance) error {
			if k.Status == dmsRestarting {
				k.Status = dmsRunning
			}
			return nil
		})
	})
	t.serviceCreated = cloudsim.Transition(s, "huawei.vpcep.service.create", a.serviceReady)
	t.endpointCreated = cloudsim.Transition(s, "huawei.vpcep.endpoint.create", a.endpointReady)
	t.deleteLater = cloudsim.Transition(s, "huawei.delete", func(o objectRef) { _ = a.inv.Delete(o.Kind, o.ID) })
	t.dmsExtended = cloudsim.Transition(s, "huawei.dms.extend", func(e dmsExtend) { a.addBrokers(e.ID, e.Want) })
	s.RegisterState("huawei", a.saveState, a.restoreState)
}

type savedHuawei struct {
	Marker    int32                `json:"marker"`
	BusyUntil map[string]time.Time `json:"busyUntil"`
}

func (a *api) saveState() (any, error) {
	st := savedHuawei{BusyUntil: map[string]time.Time{}}
	a.mu.Lock()
	st.Marker = a.marker
	a.mu.Unlock()
	a.busyMu.Lock()
	for k, v := range a.busyUntil {
		st.BusyUntil[k] = v
	}
	a.busyMu.Unlock()
	return st, nil
}

func (a *api) restoreState(raw json.RawMessage) error {
	var st savedHuawei
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	a.mu.Lock()
	a.marker = st.Marker
	a.mu.Unlock()
	a.busyMu.Lock()
	for k, v := range st.BusyUntil {
		a.busyUntil[k] = v
	}
	a.busyMu.Unlock()
	return nil
}
