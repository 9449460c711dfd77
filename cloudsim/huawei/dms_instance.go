package huawei

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { resources = append(resources, (*api).dmsRoutes) }

func (a *api) dmsRoutes() {
	a.handle("GET /v2/{project_id}/instances/{instance_id}", "huawei.kafka.ShowInstance", a.showInstance)
	a.handle("POST /v2/{project_id}/instances/{instance_id}/crossvpc/modify", "huawei.kafka.UpdateInstanceCrossVpcIp", a.modifyCrossVpc)
	// SDK kafka/v2/kafka_meta.go GenReqDefForBatchRestartOrDeleteInstances: POST /v2/{project_id}/instances/action.
	a.handle("POST /v2/{project_id}/instances/action", "huawei.kafka.BatchRestartOrDeleteInstances", a.instanceAction)
	a.dmsExtendRoutes() // dms_extend.go
}

// DMS instance statuses (https://support.huaweicloud.com/intl/en-us/api-kafka/kafka-api-180514012.html).
const (
	dmsRunning    = "RUNNING"
	dmsRestarting = "RESTARTING"
	dmsError      = "ERROR"
)

// errInstanceBusy is DMS's answer to an operation on a busy instance:
// HTTP 400 DMS.00400026 (terraform-provider-huaweicloud
// huaweicloud/services/kafka/resource_huaweicloud_dms_kafka_user_client_quota.go:441,
// "This operation is not allowed due to the instance status").
func errInstanceBusy(w http.ResponseWriter) {
	writeErr(w, http.StatusBadRequest, "DMS.00400026", "This operation is not allowed due to the instance status.")
}

// busy reports whether a DMS instance cannot take a modification now: it is
// not RUNNING (restarting...), or a crossvpc modify is still being applied.
// The cloud keeps the instance busy after a modify; Terraform therefore
// retries crossvpc/modify on DMS.00400026 while waiting for RUNNING
// (resource_huaweicloud_dms_kafka_instance.go:791-805, handleMultiOperationsError :2258-2279).
func (a *api) busy(k *inventory.KafkaInstance) bool {
	if st := orDefault(k.Status, dmsRunning); st != dmsRunning {
		return true
	}
	a.busyMu.Lock()
	defer a.busyMu.Unlock()
	return a.now().Before(a.busyUntil[k.ID])
}

// markBusy keeps instance id busy for d (a background task applying a change).
func (a *api) markBusy(id string, d time.Duration) {
	a.busyMu.Lock()
	defer a.busyMu.Unlock()
	if until := a.now().Add(d); until.After(a.busyUntil[id]) {
		a.busyUntil[id] = until
	}
}

// instanceAction restarts instances (action restart). Only Running or Faulty
// instances may restart, and a restart takes 3 to 15 minutes before the
// instance is Running again
// (https://support.huaweicloud.com/intl/en-us/usermanual-kafka/kafka-ug-180604015.html);
// the twin keeps it RESTARTING for Timing.DMSRestart.
func (a *api) instanceAction(w http.ResponseWriter, c *caller) {
	var req struct {
		Instances   []string `json:"instances"`
		Action      string   `json:"action"`
		AllFailure  string   `json:"all_failure,omitempty"`
		ForceDelete *bool    `json:"force_delete,omitempty"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", err.Error())
		return
	}
	if req.Action != "restart" {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "action "+strconv.Quote(req.Action)+" is not supported by cloudsim (restart only)")
		return
	}
	var results []map[string]any
	for _, id := range req.Instances {
		k, err := inventory.Get[*inventory.KafkaInstance](a.inv, id)
		if err != nil || !c.owned(k) || (k.Engine != "" && k.Engine != "dms") {
			writeErr(w, http.StatusNotFound, "DMS.00404022", "The instance "+id+" does not exist")
			return
		}
		if st := orDefault(k.Status, dmsRunning); st != dmsRunning && st != dmsError {
			errInstanceBusy(w)
			return
		}
	}
	for _, id := range req.Instances {
		if _, err := inventory.Update(a.inv, id, func(k *inventory.KafkaInstance) error {
			k.Status = dmsRestarting
			return nil
		}); err != nil {
			continue
		}
		a.dmsRestarted(a.timing.DMSRestart, id)
		results = append(results, map[string]any{"result": "success", "instance": id})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": nonNil(results)})
}

func (a *api) ownInstance(w http.ResponseWriter, c *caller) (*inventory.KafkaInstance, bool) {
	id := c.r.PathValue("instance_id")
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, id)
	if err != nil || !c.owned(k) || (k.Engine != "" && k.Engine != "dms") {
		writeErr(w, http.StatusNotFound, "DMS.00404022", "The instance "+id+" does not exist")
		return nil, false
	}
	return k, true
}

func (a *api) showInstance(w http.ResponseWriter, c *caller) {
	k, ok := a.ownInstance(w, c)
	if !ok {
		return
	}
	type entry struct {
		AdvertisedIP string `json:"advertised_ip"`
		Port         int    `json:"port"`
		PortID       string `json:"port_id"`
	}
	info := map[string]entry{}
	var addrs []string
	// port is the instance's connection port: its private listener
	// (model_show_instance_response.go Port, "实例连接端口"; 9092 plaintext,
	// 9093 SASL). The brokers' own port when no private one is configured.
	port := k.PrivatePort
	for _, b := range k.Brokers {
		if port == 0 {
			port = b.Port
		}
		info[b.ListenerIP] = entry{AdvertisedIP: b.AdvertisedHost(), Port: b.Port, PortID: b.PortID}
		addrs = append(addrs, b.ListenerIP)
	}
	sort.Strings(addrs)
	raw, _ := json.Marshal(info)
	sn, _ := inventory.Get[*inventory.Subnet](a.inv, k.SubnetID)
	vpc, _ := inventory.Get[*inventory.VPC](a.inv, k.VPCID)
	out := map[string]any{
		"instance_id": k.ID, "name": k.Name, "engine": "kafka", "engine_version": orDefault(k.EngineVersion, "2.7"),
		"status": orDefault(k.Status, "RUNNING"), "type": "cluster", "connect_address": strings.Join(addrs, ","), "port": port,
		"vpc_id": k.VPCID, "subnet_id": k.SubnetID, "security_group_id": k.SecurityGroupID,
		"user_id": userID(c.acct), "broker_num": len(k.Brokers), "node_num": len(k.Brokers), "ssl_enable": k.TLS,
		"cross_vpc_info": string(raw), "enable_publicip": false, "dns_enable": false,
		"created_at": strconv.FormatInt(k.CreatedAt.UnixMilli(), 10),
	}
	if sn != nil {
		out["subnet_cidr"] = sn.CIDR
		out["subnet_name"] = sn.Name
	}
	if vpc != nil {
		out["vpc_name"] = vpc.Name
	}
	writeJSON(w, http.StatusOK, out)
}

// userID is the ID of the IAM user who created the account's instances:
// ShowInstance's user_id is a user ID, not the account (domain) ID
// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_show_instance_response.go UserId).
func userID(acct *inventory.Account) string {
	h := sha256.Sum256([]byte("iam-user/" + acct.ID))
	return hex.EncodeToString(h[:16])
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)

func (a *api) modifyCrossVpc(w http.ResponseWriter, c *caller) {
	k, ok := a.ownInstance(w, c)
	if !ok {
		return
	}
	var req struct {
		AdvertisedIPContents map[string]string `json:"advertised_ip_contents"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", err.Error())
		return
	}
	if a.busy(k) {
		errInstanceBusy(w)
		return
	}
	listeners := map[string]bool{}
	for _, b := range k.Brokers {
		listeners[b.ListenerIP] = true
	}
	// "Unmodified entries must also be filled in": the map must be complete.
	for ip := range listeners {
		if _, ok := req.AdvertisedIPContents[ip]; !ok {
			writeErr(w, http.StatusBadRequest, "DMS.00400002", "advertised_ip_contents must contain every listener IP; "+ip+" is missing")
			return
		}
	}
	for ip, adv := range req.AdvertisedIPContents {
		if !listeners[ip] {
			writeErr(w, http.StatusBadRequest, "DMS.00400002", ip+" is not a listener IP of instance "+k.ID)
			return
		}
		if net.ParseIP(adv) == nil && !hostName.MatchString(adv) {
			writeErr(w, http.StatusBadRequest, "DMS.00400002", "invalid advertised IP or domain name "+adv)
			return
		}
	}
	// Two listeners may not advertise the same address.
	seen := map[string]string{}
	for ip, adv := range req.AdvertisedIPContents {
		if other, dup := seen[adv]; dup {
			writeErr(w, http.StatusBadRequest, "DMS.00400002", "listeners "+other+" and "+ip+" advertise the same address "+adv)
			return
		}
		seen[adv] = ip
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy(k) { // a concurrent modify won the race
		errInstanceBusy(w)
		return
	}
	updated, err := inventory.Update(a.inv, k.ID, func(k *inventory.KafkaInstance) error {
		for i := range k.Brokers {
			adv := req.AdvertisedIPContents[k.Brokers[i].ListenerIP]
			if adv == k.Brokers[i].ListenerIP {
				adv = ""
			}
			k.Brokers[i].Advertised = adv
		}
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, "DMS.00404022", "The instance "+k.ID+" does not exist")
		return
	}
	// The change is applied in the background: the instance stays busy for a
	// while (Terraform waits for RUNNING after crossvpc/modify, resource_huaweicloud_dms_kafka_instance.go:798-806).
	a.markBusy(k.ID, a.timing.DMSModifyBusy)
	var results []map[string]any
	for _, b := range updated.Brokers {
		results = append(results, map[string]any{"advertised_ip": b.AdvertisedHost(), "success": true, "ip": b.ListenerIP})
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "results": nonNil(results)})
}
