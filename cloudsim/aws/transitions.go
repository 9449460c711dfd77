package aws

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The AWS twin's state machines as durable transitions (cloudsim.Transition:
// a twin restarted with its state directory completes them at their
// deadlines), and its records outside the inventory (STS sessions, Route 53
// changes) in the durable state.

// transitions are the schedulers of the AWS state machines.
type transitions struct {
	forgetPeering         func(time.Duration, peeringState)
	peeringSet            func(time.Duration, peeringState)
	peeringRequested      func(time.Duration, peeringRequest)
	peeringAccepted       func(time.Duration, string)
	serviceAvailable      func(time.Duration, string)
	serviceDeleted        func(time.Duration, string)
	endpointCreated       func(time.Duration, string)
	deleteLater           func(time.Duration, objectRef)
	vpcConnectionCreated  func(time.Duration, string)
	vpcConnectionRejected func(time.Duration, string)
	loadBalancerActive    func(time.Duration, string)
	attachmentCreated     func(time.Duration, string)
	changeInSync          func(time.Duration, changeDone)
	restart               func(time.Duration, restartStep)
}

// peeringState moves a peering to Status (with Message) when it is in one of Only (any when empty).
type peeringState struct {
	ID      string   `json:"id"`
	Status  string   `json:"status"`
	Message string   `json:"message,omitempty"`
	Only    []string `json:"only,omitempty"`
}

// peeringRequest is a new peering request's check against its accepter.
type peeringRequest struct {
	ID            string `json:"id"`
	CIDR          string `json:"cidr"`
	PeerAccount   string `json:"peerAccount"`
	PeerAccountID string `json:"peerAccountId"`
	Region        string `json:"region"`
}

// objectRef names an inventory object.
type objectRef struct {
	Kind inventory.Kind `json:"kind"`
	ID   string         `json:"id"`
}

// zoneUpdate is the record sets a Route 53 change gives its zone at INSYNC.
type zoneUpdate struct {
	Zone string            `json:"zone"`
	Seq  int               `json:"seq"`
	Next map[string]string `json:"next"`
}

// changeDone is a Route 53 change becoming INSYNC.
type changeDone struct {
	Change string      `json:"change"`
	Zone   *zoneUpdate `json:"zone,omitempty"`
}

func (a *api) registerTransitions(s *cloudsim.Sim) {
	t := &a.transitions
	t.forgetPeering = cloudsim.Transition(s, "aws.ec2.peering.forget", func(p peeringState) {
		if x, err := inventory.Get[*inventory.Peering](a.inv, p.ID); err == nil && x.Status == p.Status {
			_ = a.inv.Delete(inventory.KindPeering, p.ID)
		}
	})
	t.peeringSet = cloudsim.Transition(s, "aws.ec2.peering.set", func(p peeringState) {
		a.setPeering(p.ID, p.Status, p.Message, p.Only...)
	})
	t.peeringRequested = cloudsim.Transition(s, "aws.ec2.peering.request", func(p peeringRequest) {
		a.advanceRequest(p.ID, &inventory.VPC{CIDR: p.CIDR},
			&inventory.Account{Meta: inventory.Meta{ID: p.PeerAccount}, AccountID: p.PeerAccountID}, p.Region)
	})
	t.peeringAccepted = cloudsim.Transition(s, "aws.ec2.peering.accept", func(id string) {
		if kind, state := a.faults.Outcome("aws.ec2.peering.accept"); kind == faults.Stuck {
			return
		} else if kind == faults.Reject {
			a.setPeering(id, state, "Failed due to an injected fault", pcxProvision)
			return
		}
		a.setPeering(id, pcxActive, "Active", pcxProvision)
	})
	t.serviceAvailable = cloudsim.Transition(s, "aws.ec2.service.available", func(id string) {
		_, _ = inventory.Update(a.inv, id, func(x *inventory.EndpointService) error {
			if x.Status == "Pending" {
				x.Status = "Available"
			}
			return nil
		})
	})
	t.serviceDeleted = cloudsim.Transition(s, "aws.ec2.service.delete", func(id string) {
		for _, sub := range inventory.List[*inventory.EndpointService](a.inv, inventory.Filter{}) {
			if isType(sub.Attrs, typeListener) && sub.Attrs["parent"] == id {
				_ = a.inv.Delete(inventory.KindEndpointService, sub.ID)
			}
		}
		_ = a.inv.Delete(inventory.KindEndpointService, id)
	})
	t.endpointCreated = cloudsim.Transition(s, "aws.ec2.endpoint.create", a.endpointReady)
	t.deleteLater = cloudsim.Transition(s, "aws.delete", func(o objectRef) { _ = a.inv.Delete(o.Kind, o.ID) })
	t.vpcConnectionCreated = cloudsim.Transition(s, "aws.kafka.vpcConnection.create", a.vpcConnectionReady)
	t.vpcConnectionRejected = cloudsim.Transition(s, "aws.kafka.vpcConnection.reject", func(id string) {
		_, _ = inventory.Update(a.inv, id, func(x *inventory.Endpoint) error { x.Status = "REJECTED"; return nil })
	})
	t.loadBalancerActive = cloudsim.Transition(s, "aws.elbv2.loadBalancer.create", func(arn string) {
		_, _ = inventory.Update(a.inv, arn, func(x *inventory.Port) error {
			if x.Status == "provisioning" {
				x.Status = "active"
			}
			return nil
		})
		a.mu.Lock()
		a.syncNLB(arn)
		a.mu.Unlock()
	})
	t.attachmentCreated = cloudsim.Transition(s, "aws.ec2.attachment.create", func(id string) {
		if kind, state := a.faults.Outcome("aws.ec2.attachment.create"); kind == faults.Stuck {
			return
		} else if kind == faults.Reject {
			a.setAttachment(id, state, "pending")
			return
		}
		a.setAttachment(id, "available", "pending")
	})
	t.changeInSync = cloudsim.Transition(s, "aws.route53.change", func(c changeDone) {
		if z := c.Zone; z != nil {
			a.mu.Lock()
			_, _ = inventory.Update(a.inv, z.Zone, func(x *inventory.Config) error { propagate(x, z.Seq, z.Next); return nil })
			a.mu.Unlock()
		}
		a.cmu.Lock()
		if ch := a.changes[c.Change]; ch != nil {
			ch.status = "INSYNC"
		}
		a.cmu.Unlock()
	})
	t.restart = cloudsim.Transition(s, "aws.kafka.connectivity.restart", a.rollingRestart)
	s.RegisterState("aws", a.saveState, a.restoreState)
}

// savedSession and savedChange are the durable forms of a session and a Route 53 change.
type savedSession struct {
	KeyID   string    `json:"keyId"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
	ARN     string    `json:"arn"`
}

type savedChange struct {
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	Comment   string    `json:"comment,omitempty"`
	Status    string    `json:"status"`
	Submitted time.Time `json:"submitted"`
}

type savedAWS struct {
	Sessions []savedSession `json:"sessions"`
	Changes  []savedChange  `json:"changes"`
	Tokens   []savedToken   `json:"tokens,omitempty"`
}

func (a *api) saveState() (any, error) {
	var st savedAWS
	a.smu.Lock()
	for k, s := range a.sessions {
		st.Sessions = append(st.Sessions, savedSession{KeyID: k, Token: s.token, Expires: s.expires, ARN: s.arn})
	}
	a.smu.Unlock()
	a.cmu.Lock()
	for _, c := range a.changes {
		st.Changes = append(st.Changes, savedChange{ID: c.id, Account: c.account, Comment: c.comment, Status: c.status, Submitted: c.submitted})
	}
	a.cmu.Unlock()
	st.Tokens = a.tokens.save()
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].KeyID < st.Sessions[j].KeyID })
	sort.Slice(st.Changes, func(i, j int) bool { return st.Changes[i].ID < st.Changes[j].ID })
	return st, nil
}

func (a *api) restoreState(raw json.RawMessage) error {
	var st savedAWS
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	a.smu.Lock()
	for _, s := range st.Sessions {
		a.sessions[s.KeyID] = session{token: s.Token, expires: s.Expires, arn: s.ARN}
	}
	a.smu.Unlock()
	a.cmu.Lock()
	for _, c := range st.Changes {
		a.changes[c.ID] = &r53ChangeState{id: c.ID, account: c.Account, comment: c.Comment, status: c.Status, submitted: c.Submitted}
	}
	a.cmu.Unlock()
	a.tokens.restore(st.Tokens)
	return nil
}
