package kafka

import "testing"

func TestAddressDiff(t *testing.T) {
	brokers := map[int32]string{0: "10.0.0.1:9011", 1: "10.0.0.2:9011", 2: "10.0.0.3:9011"}
	ids := []int32{0, 1, 2}
	for _, tc := range []struct {
		name string
		want []string
		diff string
	}{
		{"same set, any order", []string{"10.0.0.3:9011", "10.0.0.1:9011", "10.0.0.2:9011"}, ""},
		{"one missing", []string{"10.0.0.1:9011", "10.0.0.2:9011"}, "broker 2 advertises 10.0.0.3:9011, which is not expected"},
		{"one more expected", []string{"10.0.0.1:9011", "10.0.0.2:9011", "10.0.0.3:9011", "10.0.0.4:9011"}, "no broker advertises 10.0.0.4:9011"},
		{"a duplicate is not a set match", []string{"10.0.0.1:9011", "10.0.0.1:9011", "10.0.0.2:9011"},
			"broker 2 advertises 10.0.0.3:9011, which is not expected; no broker advertises 10.0.0.1:9011"},
	} {
		if got := addressDiff(tc.want, brokers, ids); got != tc.diff {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.diff)
		}
	}
}
