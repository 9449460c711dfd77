package emqx

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

func TestCheckConsole(t *testing.T) {
	expected := map[string]string{"peeringId": "pcx-1", "vpcId": "vpc-ours", "vpcCidr": "172.16.0.0/20"}
	patterns := map[string]string{"userId": `^[0-9a-f]{32}$`}
	good := map[string]any{"peeringId": "pcx-1", "vpcId": "vpc-ours", "vpcCidr": " 172.16.0.0/20", "userId": "0123456789abcdef0123456789abcdef"}
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string // "" = passes
	}{
		{"as entered", func(map[string]any) {}, ""},
		{"wrong peering", func(d map[string]any) { d["peeringId"] = "pcx-2" }, `peeringId "pcx-2" was entered in the huawei console, but ours is "pcx-1"`},
		{"missing VPC", func(d map[string]any) { delete(d, "vpcId") }, "vpcId is missing (complete the step with data {vpcId: ...})"},
		{"bad user ID", func(d map[string]any) { d["userId"] = "me" }, `userId "me" does not look right`},
		{"number", func(d map[string]any) { d["vpcCidr"] = 17.0 }, "vpcCidr is a float64, not a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := map[string]any{}
			for k, v := range good {
				data[k] = v
			}
			c.edit(data)
			out, err := CheckConsole(context.Background(), plan.Call{}, catalog.EMQXCheckConsoleIn{Cloud: "huawei", Data: data, Expected: expected, Patterns: patterns})
			if c.want == "" {
				if err != nil || len(out.Checked) != 4 || out.Values["vpcCidr"] != "172.16.0.0/20" {
					t.Fatalf("got %+v, %v", out, err)
				}
				return
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != plan.ErrInvalid || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want non-retryable Invalid containing %q, got %v", c.want, err)
			}
		})
	}
}
