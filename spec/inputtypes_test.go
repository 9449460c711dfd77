package spec

import (
	"fmt"
	"strings"
	"testing"
)

// TestWorkflowInputTypes: a Workflow step's inputs are checked against
// their action's declared types and formats, literals and spec-folded
// expressions alike, with the input's position.
func TestWorkflowInputTypes(t *testing.T) {
	const head = `apiVersion: topoflow.io/v1
kind: Workflow
metadata: {name: route-check}
spec:
  policy: {allowUngated: true, reason: test}
  inputs: {clientCidr: %s}
  steps:
    - id: route
      action: aws.ec2.createRoute
      account: aws-msk
      inputs:
        routeTableId: rtb-1
        destination: %s
        peeringId: %s
`
	tests := []struct {
		name, cidr, dest, pcx string
		want                  string // "" = valid
	}{
		{"valid literal", "10.1.0.0/16", "10.2.0.0/16", "pcx-1", ""},
		{"valid folded", "10.1.0.0/16", "${{ spec.inputs.clientCidr }}", "pcx-1", ""},
		{"run-time value", "10.1.0.0/16", "${{ steps.x.cidr }}", "pcx-1", "unknown step"},
		{"folded not a CIDR", "10.1.2.3/33", "${{ spec.inputs.clientCidr }}", "pcx-1",
			`w.yaml:13:22: step "route": input "destination" of action "aws.ec2.createRoute": "10.1.2.3/33" (from ${{ spec.inputs.clientCidr }}) is not a valid CIDR`},
		{"host bits", "10.1.0.0/16", "10.2.0.1/16", "pcx-1", `w.yaml:13:22: step "route": input "destination" of action "aws.ec2.createRoute": "10.2.0.1/16" is a CIDR with host bits set (did you mean "10.2.0.0/16"?)`},
		{"wrong type", "10.1.0.0/16", "10.2.0.0/16", "7", `w.yaml:14:20: step "route": input "peeringId" of action "aws.ec2.createRoute": 7 is not a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf(head, tt.cidr, tt.dest, tt.pcx)
			_, err := Parse("w.yaml", []byte(src), Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("valid spec refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
