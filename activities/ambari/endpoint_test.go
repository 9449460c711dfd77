package ambari

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// TestWrongURLIsNotAMissingResource: a server that does not serve Ambari's
// API answers a bare 404: a configuration fault saying to check the URL;
// Ambari's own JSON 404 stays a missing resource, its 403 a refused credential.
func TestWrongURLIsNotAMissingResource(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/wrong/", http.NotFound)
	mux.HandleFunc("/ambari/api/v1/clusters/kafka1/services/KAFKA", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"status": 404, "message": "The requested resource doesn't exist: Service not found, clusterName=kafka1, serviceName=KAFKA"}`))
	})
	mux.HandleFunc("/denied/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"status": 403, "message": "Authentication required"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tt := range []struct {
		name, base, typ, says string
	}{
		{"wrong URL", srv.URL + "/wrong", plan.ErrInvalid, "does not serve Ambari's API: check the Ambari URL"},
		{"no such service", srv.URL + "/ambari", plan.ErrNotFound, "Service not found"},
		{"refused", srv.URL + "/denied", plan.ErrUnauthorized, "Authentication required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{Base: tt.base, Cluster: "kafka1", User: "admin", Password: "x"}
			_, err := c.Service(context.Background(), "KAFKA")
			var ae *temporal.ApplicationError
			if err := classify("ambari.getService", err); !errors.As(err, &ae) || ae.Type() != tt.typ || !strings.Contains(ae.Message(), tt.says) {
				t.Errorf("classify = %v, want type %s saying %q", err, tt.typ, tt.says)
			}
		})
	}
}
