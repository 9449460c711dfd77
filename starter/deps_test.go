package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCLILinksNoCloudSDK: the CLI talks to Temporal only; the cloud SDKs
// belong to the worker (the CLI's connection settings live in
// internal/temporalconn, not worker/app).
func TestCLILinksNoCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var sdk []string
	for _, p := range strings.Fields(string(out)) {
		for _, prefix := range []string{"github.com/aws/aws-sdk-go-v2", "github.com/huaweicloud/", "github.com/Azure/azure-sdk-for-go", "github.com/topoflow/topoflow/worker", "github.com/topoflow/topoflow/activities/aws", "github.com/topoflow/topoflow/cloudsim"} {
			if strings.HasPrefix(p, prefix) {
				sdk = append(sdk, p)
			}
		}
	}
	if len(sdk) > 0 {
		t.Fatalf("the CLI links %d cloud-SDK or worker packages, e.g. %s", len(sdk), sdk[0])
	}
}
