package azure

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
)

// The Azure twin's operations complete as durable transitions
// (cloudsim.Transition), and its records outside the inventory (minted
// tokens, asynchronous operations, the VNets they keep busy) are in the
// durable state: a twin restarted with its state directory answers the
// same operation URLs and completes them.

type savedToken struct {
	Token   string    `json:"token"`
	Account string    `json:"account"`
	Expires time.Time `json:"expires"`
}

type savedAzure struct {
	Tokens []savedToken      `json:"tokens"`
	Ops    []operation       `json:"ops"`
	Busy   map[string]string `json:"busy"`
}

func (srv *Server) registerState(s *cloudsim.Sim) {
	srv.completeLater = cloudsim.Transition(s, "azure.network.operation.complete", srv.complete)
	s.RegisterState("azure", srv.saveState, srv.restoreState)
}

func (srv *Server) saveState() (any, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	st := savedAzure{Busy: map[string]string{}}
	for t, ti := range srv.tokens {
		st.Tokens = append(st.Tokens, savedToken{Token: t, Account: ti.account, Expires: ti.expires})
	}
	for _, op := range srv.ops {
		st.Ops = append(st.Ops, *op)
	}
	for k, v := range srv.busy {
		st.Busy[k] = v
	}
	sort.Slice(st.Tokens, func(i, j int) bool { return st.Tokens[i].Token < st.Tokens[j].Token })
	sort.Slice(st.Ops, func(i, j int) bool { return st.Ops[i].ID < st.Ops[j].ID })
	return st, nil
}

func (srv *Server) restoreState(raw json.RawMessage) error {
	var st savedAzure
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, t := range st.Tokens {
		srv.tokens[t.Token] = tokenInfo{account: t.Account, expires: t.Expires}
	}
	for i := range st.Ops {
		op := st.Ops[i]
		srv.ops[op.ID] = &op
	}
	for k, v := range st.Busy {
		srv.busy[k] = v
	}
	return nil
}
