package huawei

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// dmsExtending is the status of a DMS instance while brokers are added
// (https://support.huaweicloud.com/intl/en-us/api-kafka/kafka-api-180514012.html:
// EXTENDING, "the instance is being scaled out").
const dmsExtending = "EXTENDING"

// dmsMaxBrokers bounds new_broker_num (huaweicloud-sdk-go-v3
// services/kafka/v2/model/model_resize_engine_instance_req.go NewBrokerNum:
// "最多支持50个broker").
const dmsMaxBrokers = 50

func (a *api) dmsExtendRoutes() {
	// SDK services/kafka/v2/kafka_meta.go GenReqDefForResizeEngineInstance:
	// POST /v2/{engine}/{project_id}/instances/{instance_id}/extend.
	a.handle("POST /v2/{engine}/{project_id}/instances/{instance_id}/extend", "huawei.kafka.ResizeEngineInstance", a.resizeInstance)
}

// resizeInstance changes an instance's specification. Only a horizontal
// scale-out (more brokers, the same storage per broker) is modelled: the
// instance is EXTENDING for Timing.DMSExtend, then RUNNING with the new
// brokers, each with its own listener IP in the instance's subnet and its
// own port (network interface), as ShowInstance's cross_vpc_info then lists
// them. Existing brokers keep serving, and partitions do not move to the new
// brokers (Kafka reassigns partitions only when asked).
func (a *api) resizeInstance(w http.ResponseWriter, c *caller) {
	if e := c.r.PathValue("engine"); e != "kafka" {
		// ResizeEngineInstanceRequest Engine: "消息引擎的类型。支持的类型为kafka。"
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "The engine "+strconv.Quote(e)+" is invalid; the engine type is kafka")
		return
	}
	k, ok := a.ownInstance(w, c)
	if !ok {
		return
	}
	// model_resize_engine_instance_req.go.
	var req struct {
		OperType             string    `json:"oper_type"`
		NewStorageSpace      *int32    `json:"new_storage_space,omitempty"`
		NewBrokerNum         *int32    `json:"new_broker_num,omitempty"`
		NewProductID         *string   `json:"new_product_id,omitempty"`
		PublicipID           *string   `json:"publicip_id,omitempty"`
		TenantIPs            *[]string `json:"tenant_ips,omitempty"`
		SecondTenantSubnetID *string   `json:"second_tenant_subnet_id,omitempty"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", err.Error())
		return
	}
	switch req.OperType {
	case "horizontal":
	case "storage", "vertical":
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "oper_type "+req.OperType+" is not modelled by cloudsim (horizontal only)")
		return
	default:
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "The oper_type "+strconv.Quote(req.OperType)+" is invalid; use storage, horizontal or vertical")
		return
	}
	// "当oper_type类型是storage或horizontal时，该参数有效且必填 … 磁盘容量仅支持设置为100的整数倍".
	if req.NewStorageSpace == nil || *req.NewStorageSpace <= 0 || *req.NewStorageSpace%100 != 0 {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "new_storage_space is required for a horizontal scale-out and must be a multiple of 100")
		return
	}
	n := len(k.Brokers)
	if req.NewBrokerNum == nil || int(*req.NewBrokerNum) <= n || *req.NewBrokerNum > dmsMaxBrokers {
		writeErr(w, http.StatusBadRequest, "DMS.00400002",
			"new_broker_num must be more than the instance's "+strconv.Itoa(n)+" brokers and at most "+strconv.Itoa(dmsMaxBrokers))
		return
	}
	// "指定的IP数量只能小于等于新增节点数量".
	if req.TenantIPs != nil && len(*req.TenantIPs) > int(*req.NewBrokerNum)-n {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "tenant_ips lists more addresses than brokers are added")
		return
	}
	if req.TenantIPs != nil && len(*req.TenantIPs) > 0 {
		writeErr(w, http.StatusBadRequest, "DMS.00400002", "tenant_ips is not modelled by cloudsim (addresses are allocated)")
		return
	}
	if a.busy(k) {
		errInstanceBusy(w)
		return
	}
	want := int(*req.NewBrokerNum)
	id := k.ID
	if _, err := inventory.Update(a.inv, id, func(k *inventory.KafkaInstance) error {
		k.Status = dmsExtending
		return nil
	}); err != nil {
		writeErr(w, http.StatusInternalServerError, "DMS.00500000", "resize: "+err.Error())
		return
	}
	a.dmsExtended(a.timing.DMSExtend, dmsExtend{ID: id, Want: want})
	writeJSON(w, http.StatusOK, map[string]any{"job_id": uuid.NewString()})
}

// addBrokers ends a scale-out: the instance gets brokers up to want, then is
// RUNNING again.
func (a *api) addBrokers(id string, want int) {
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, id)
	if err != nil {
		return
	}
	var added []inventory.Broker
	for i := len(k.Brokers); i < want; i++ {
		ip, err := a.inv.AllocateIP(k.SubnetID)
		if err != nil {
			break
		}
		p := &inventory.Port{Meta: inventory.Meta{Account: k.Account, Region: k.Region, Name: k.Name + "-broker-" + strconv.Itoa(i), Status: "ACTIVE"},
			VPCID: k.VPCID, SubnetID: k.SubnetID, IP: ip, DeviceOwner: "kafka", DeviceID: k.ID}
		created, err := inventory.Create(a.inv, p)
		if err != nil {
			a.inv.ReleaseIP(ip)
			break
		}
		port := 9011
		if len(k.Brokers) > 0 {
			port = k.Brokers[0].Port
		}
		added = append(added, inventory.Broker{ID: int32(i), ListenerIP: ip, Port: port, PortID: created.ID})
	}
	_, _ = inventory.Update(a.inv, id, func(k *inventory.KafkaInstance) error {
		k.Brokers = append(k.Brokers, added...)
		if k.Status == dmsExtending {
			k.Status = dmsRunning
		}
		return nil
	})
}
