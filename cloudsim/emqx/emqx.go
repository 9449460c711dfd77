// Package emqx is the twin's EMQX Platform: each deployment is a real MQTT
// broker (github.com/mochi-mqtt/server/v2) listening on its VPC's private
// address, behind the strict network like every cloud resource, and a
// stand-in for the EMQX Platform console's VPC-peering dialog (runbook 003),
// which checks what the customer enters as EMQX does, accepts the peering as
// the deployment's account and routes the customer's CIDR back through it
// (Alibaba: through the Alibaba API; Tencent: asks to attach the
// deployment's VPC to the customer's CCN, clouds.go).
//
// World: a port with deviceOwner emqx is a deployment's broker (tag
// mqtt:port, default 1883); the deployment's VPC has a route table the
// console writes its return routes to. No cloud API lists the deployment
// accounts' resources to our accounts: they are another company's.
package emqx

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// DeviceOwner marks a port as an EMQX deployment's broker.
const DeviceOwner = "emqx"

// TagMQTTPort is the port tag naming the broker's MQTT port (default 1883,
// EMQX's MQTT over TCP listener: https://docs.emqx.com/en/cloud/latest/deployments/port_guide_dedicated.html).
const TagMQTTPort = "mqtt:port"

// ConsolePath is where the console stand-in takes the peering dialog's confirmation.
const ConsolePath = "/emqx-platform/v1/peerings"

func init() { cloudsim.RegisterProvider("emqx", Mount) }

// platform holds the running brokers.
type platform struct {
	sim     *cloudsim.Sim
	inv     *inventory.Store
	mu      sync.Mutex
	brokers map[string]*broker // by port ID
	// statusLater sets a peering's status later (a durable transition).
	statusLater func(time.Duration, peeringStatus)
}

// peeringStatus is a peering's next status.
type peeringStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type broker struct {
	addr string
	srv  *mqtt.Server
}

// Mount starts a broker for every EMQX port of the inventory (now and as
// they come and go) and serves the console stand-in.
func Mount(s *cloudsim.Sim) error {
	p := &platform{sim: s, inv: s.Inventory, brokers: map[string]*broker{}}
	p.statusLater = cloudsim.Transition(s, "emqx.peering.status", func(st peeringStatus) { p.setStatus(st.ID, st.Status) })
	s.Inventory.Watch(p.onEvent)
	s.OnClose(p.close)
	// The console calls the clouds' APIs of the twin itself (as EMQX's
	// systems do): unheld, or a concurrent state save would hang the twin.
	s.Mount("POST "+ConsolePath, s.Unheld(http.HandlerFunc(p.confirm)))
	s.Mount("DELETE "+ConsolePath+"/{peeringId}", s.Unheld(http.HandlerFunc(p.remove)))
	p.mountAPI()
	return nil
}

// close stops every broker (the sim is closing).
func (p *platform) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, b := range p.brokers {
		_ = b.srv.Close()
		delete(p.brokers, id)
	}
}

func (p *platform) onEvent(ev inventory.Event) {
	switch ev.Kind {
	case inventory.KindPort:
		p.reconcileBroker(ev)
	case inventory.KindPeering:
		p.reconcilePeering(ev)
	}
}

func (p *platform) reconcileBroker(ev inventory.Event) {
	var port *inventory.Port
	if ev.New != nil {
		port, _ = ev.New.(*inventory.Port)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.brokers[ev.ID]
	if port == nil || port.DeviceOwner != DeviceOwner {
		if old != nil {
			_ = old.srv.Close()
			delete(p.brokers, ev.ID)
		}
		return
	}
	mp := 1883
	if v := port.Tags[TagMQTTPort]; v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			mp = n
		}
	}
	addr := net.JoinHostPort(port.IP, strconv.Itoa(mp))
	if old != nil && old.addr == addr {
		return
	}
	if old != nil {
		_ = old.srv.Close()
		delete(p.brokers, ev.ID)
	}
	b, err := startBroker(addr)
	if err != nil {
		slog.Error("cloudsim/emqx: broker", "port", ev.ID, "addr", addr, "error", err)
		return
	}
	p.brokers[ev.ID] = b
}

// startBroker serves MQTT 3.1.1 and 5 on addr (any client allowed: the
// deployment's authentication is not modelled).
func startBroker(addr string) (*broker, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		ln.Close()
		return nil, err
	}
	if err := srv.AddListener(listeners.NewNet("emqx-"+addr, ln)); err != nil {
		ln.Close()
		return nil, err
	}
	if err := srv.Serve(); err != nil {
		ln.Close()
		return nil, err
	}
	return &broker{addr: addr, srv: srv}, nil
}

// deployment returns the EMQX deployment whose VPC is vpcID: its broker port.
func (p *platform) deployment(vpcID string) (*inventory.Port, bool) {
	for _, port := range inventory.List[*inventory.Port](p.inv, inventory.Filter{}) {
		if port.DeviceOwner == DeviceOwner && port.VPCID == vpcID {
			return port, true
		}
	}
	return nil, false
}

// confirmRequest is what the customer enters in the console's peering dialog
// (runbook 003 华为云 step 6: peeringId, vpcCidr, vpcId, userId; AWS step 4:
// peeringId, accountId, vpcId).
type confirmRequest struct {
	Deployment string `json:"deploymentVpcId"`
	PeeringID  string `json:"peeringId"`
	VPCID      string `json:"vpcId"`
	VPCCIDR    string `json:"vpcCidr"`
	AccountID  string `json:"accountId"`
	UserID     string `json:"userId"`
	CcnID      string `json:"ccnId"` // Tencent step 4: 对等连接ID == 云联网实例 ID
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, code int, format string, a ...any) {
	writeJSON(w, code, map[string]string{"code": strconv.Itoa(code), "message": fmt.Sprintf(format, a...)})
}

// confirm checks the dialog's data against the peering request the
// deployment's account received, accepts it (the transitions the clouds'
// own accept calls make: cloudsim/huawei decidePeering, cloudsim/aws
// acceptPeering) and adds the return route to the customer's CIDR.
func (p *platform) confirm(w http.ResponseWriter, r *http.Request) {
	var req confirmRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		refuse(w, http.StatusBadRequest, "invalid JSON: %v", err)
		return
	}
	port, ok := p.deployment(req.Deployment)
	if !ok {
		refuse(w, http.StatusNotFound, "no deployment in VPC %q", req.Deployment)
		return
	}
	// Alibaba step 4 and Tencent step 4: EMQX acts through the cloud's API (clouds.go).
	if acct, err := inventory.Get[*inventory.Account](p.inv, port.Account); err == nil {
		switch acct.Provider {
		case "alibaba":
			p.confirmAlibaba(w, port, req)
			return
		case "tencent":
			p.confirmTencent(w, port, req)
			return
		}
	}
	peer, err := inventory.Get[*inventory.Peering](p.inv, req.PeeringID)
	if err != nil || peer.PeerVPCID != port.VPCID || peer.PeerAccount != port.Account {
		refuse(w, http.StatusBadRequest, "peering %q is no request to the deployment's VPC %s", req.PeeringID, port.VPCID)
		return
	}
	if req.VPCID != peer.VPCID {
		refuse(w, http.StatusBadRequest, "VPC ID %q is not the requester VPC of peering %s", req.VPCID, peer.ID)
		return
	}
	ours, err := inventory.Get[*inventory.VPC](p.inv, peer.VPCID)
	if err != nil {
		refuse(w, http.StatusBadRequest, "requester VPC %s does not exist", peer.VPCID)
		return
	}
	// cloudsim/aws marks its peerings awsType vpc-peering-connection.
	if peer.Attrs["awsType"] == "vpc-peering-connection" {
		acct, err := inventory.Get[*inventory.Account](p.inv, peer.Account)
		if err != nil || acct.AccountID != req.AccountID {
			refuse(w, http.StatusBadRequest, "account ID %q is not the requester owner of peering %s", req.AccountID, peer.ID)
			return
		}
	} else if req.VPCCIDR != ours.CIDR {
		refuse(w, http.StatusBadRequest, "VPC CIDR %q is not the CIDR of VPC %s", req.VPCCIDR, ours.ID)
		return
	}
	var next []string
	switch peer.Status {
	case "pending_acceptance": // Huawei: accepted at once
		next = []string{inventory.PeeringActive}
	case "pending-acceptance": // AWS: provisioning, then active
		next = []string{"provisioning", inventory.PeeringActive}
	case inventory.PeeringActive:
	default:
		refuse(w, http.StatusConflict, "peering %s is %s", peer.ID, peer.Status)
		return
	}
	if err := p.addReturnRoute(port.VPCID, ours.CIDR, peer.ID); err != nil {
		refuse(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if len(next) > 0 {
		p.setStatus(peer.ID, next[0])
		if len(next) > 1 {
			p.statusLater(500*time.Millisecond, peeringStatus{ID: peer.ID, Status: next[1]})
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"peeringId": peer.ID, "status": "running"})
}

func (p *platform) setStatus(id, st string) {
	_, _ = inventory.Update(p.inv, id, func(x *inventory.Peering) error { x.Status = st; return nil })
}

// addReturnRoute routes cidr through the peering in the deployment VPC's route table.
func (p *platform) addReturnRoute(vpcID, cidr, peering string) error {
	for _, rt := range inventory.List[*inventory.RouteTable](p.inv, inventory.Filter{}) {
		if rt.VPCID != vpcID {
			continue
		}
		_, err := inventory.Update(p.inv, rt.ID, func(t *inventory.RouteTable) error {
			for _, r := range t.Routes {
				if r.Destination == cidr && r.NextHop == peering {
					return nil
				}
			}
			t.Routes = append(t.Routes, inventory.Route{Destination: cidr, NextHopType: "peering", NextHop: peering})
			return nil
		})
		return err
	}
	return fmt.Errorf("deployment VPC %s has no route table", vpcID)
}

// dropReturnRoutes removes the deployment routes through peering.
func (p *platform) dropReturnRoutes(peering string) {
	for _, rt := range inventory.List[*inventory.RouteTable](p.inv, inventory.Filter{}) {
		if _, ok := p.deployment(rt.VPCID); !ok {
			continue
		}
		_, _ = inventory.Update(p.inv, rt.ID, func(t *inventory.RouteTable) error {
			kept := t.Routes[:0]
			for _, r := range t.Routes {
				if r.NextHop != peering {
					kept = append(kept, r)
				}
			}
			t.Routes = kept
			return nil
		})
	}
}

// remove is the console's 删除对等连接: only from running (runbook 003), it
// drops the deployment's return route (Tencent: detaches the deployment's
// VPC from the CCN); the customer deletes their peering.
func (p *platform) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("peeringId")
	peer, err := inventory.Get[*inventory.Peering](p.inv, id)
	if err != nil {
		refuse(w, http.StatusNotFound, "no peering %s", id)
		return
	}
	if peer.Attrs["tencentType"] == "ccn" { // Tencent: 对等连接ID == 云联网实例 ID (clouds.go)
		p.removeTencent(w, peer)
		return
	}
	if peer.Status != inventory.PeeringActive {
		refuse(w, http.StatusConflict, "peering %s is %s: it can be deleted only when running (runbook 003)", id, peer.Status)
		return
	}
	p.dropReturnRoutes(id)
	w.WriteHeader(http.StatusNoContent)
}

// reconcilePeering drops the deployment's return routes once the customer's
// peering is gone (deleted, or AWS's terminal states): the deployment shows
// the peering failed and EMQX Platform removes what it configured.
func (p *platform) reconcilePeering(ev inventory.Event) {
	var peer *inventory.Peering
	if ev.New != nil {
		peer, _ = ev.New.(*inventory.Peering)
	}
	if peer != nil {
		switch peer.Status {
		case "deleting", "deleted", "rejected", "failed", "expired":
		default:
			return
		}
	}
	go p.dropReturnRoutes(ev.ID) // watchers run inside the store's change; update after it
}
