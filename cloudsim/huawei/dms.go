package huawei

import (
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func (a *api) dmsRoutes() {
	a.handle("GET /v2/{project_id}/instances/{instance_id}", "huawei.kafka.ShowInstance", a.showInstance)
	a.handle("POST /v2/{project_id}/instances/{instance_id}/crossvpc/modify", "huawei.kafka.UpdateInstanceCrossVpcIp", a.modifyCrossVpc)
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
		"user_id": c.acct.DomainID, "broker_num": len(k.Brokers), "node_num": len(k.Brokers), "ssl_enable": k.TLS,
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
	var results []map[string]any
	for _, b := range updated.Brokers {
		results = append(results, map[string]any{"advertised_ip": b.AdvertisedHost(), "success": true, "ip": b.ListenerIP})
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "results": nonNil(results)})
}
