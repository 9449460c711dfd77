package huawei_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	_ "github.com/topoflow/topoflow/cloudsim/huawei"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

func TestAuthRejections(t *testing.T) {
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"huawei"}})
	const path = "/v2/0605767c9a00d5c92f4fc00a1d6e3a11/instances/6b2f7e4a-0000-4000-8000-00000000a010"
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    string
	}{
		{"no authorization", map[string]string{"X-Project-Id": "0605767c9a00d5c92f4fc00a1d6e3a11"}, 401, "APIGW.0101"},
		{"unknown ak", map[string]string{"X-Project-Id": "p", "X-Sdk-Date": "20260101T000000Z",
			"Authorization": "SDK-HMAC-SHA256 Access=NOPE, SignedHeaders=x-project-id;x-sdk-date, Signature=00"}, 401, "APIGW.0301"},
		{"bad signature", map[string]string{"X-Project-Id": "0605767c9a00d5c92f4fc00a1d6e3a11", "X-Sdk-Date": "20260101T000000Z",
			"Authorization": "SDK-HMAC-SHA256 Access=HWKAFKAOWNERAK0000001, SignedHeaders=x-project-id;x-sdk-date, Signature=00"}, 401, "APIGW.0301"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", sim.URL()+path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body struct {
				Code string `json:"error_code"`
				Msg  string `json:"error_msg"`
			}
			if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != tc.status || body.Code != tc.code || body.Msg == "" {
				t.Fatalf("status %d body %s", resp.StatusCode, b)
			}
		})
	}
}
