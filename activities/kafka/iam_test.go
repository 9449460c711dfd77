package kafka

import "testing"

func TestBrokerRegion(t *testing.T) {
	for _, tc := range []struct {
		bootstrap []string
		want      string
	}{
		{[]string{"b-1.iam.msk-prod.x1y2z3.c2.kafka.eu-west-1.amazonaws.com:14001"}, "eu-west-1"},
		{[]string{"b-2.msk-prod.abc123.c2.kafka.us-east-2.amazonaws.com:9098"}, "us-east-2"},
		{[]string{"10.0.0.1:9098", "b-1.x.c2.kafka.ap-south-1.amazonaws.com:9098"}, "ap-south-1"},
		{[]string{"10.0.0.1:9098"}, ""},
		{[]string{"kafka.example.com:9092"}, ""},
	} {
		if got := brokerRegion(tc.bootstrap); got != tc.want {
			t.Errorf("brokerRegion(%v) = %q, want %q", tc.bootstrap, got, tc.want)
		}
	}
}
