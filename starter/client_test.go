package main

import "testing"

func TestUILinkEscapesWorkflowID(t *testing.T) {
	old := globals.Namespace
	t.Cleanup(func() { globals.Namespace = old })
	tests := []struct {
		base, ns, id, want string
	}{
		{"http://127.0.0.1:8233", "default", "topoflow/KafkaAccess/orders",
			"http://127.0.0.1:8233/namespaces/default/workflows/topoflow%2FKafkaAccess%2Forders"},
		{"http://ui", "team a", "topoflow/Workflow/x y",
			"http://ui/namespaces/team%20a/workflows/topoflow%2FWorkflow%2Fx%20y"},
		{"", "default", "topoflow/KafkaAccess/orders", ""},
	}
	for _, tt := range tests {
		globals.Namespace = tt.ns
		if got := uiLink(tt.base, tt.id); got != tt.want {
			t.Errorf("uiLink(%q, %q) in %q = %q, want %q", tt.base, tt.id, tt.ns, got, tt.want)
		}
	}
}

func TestCanonicalPhase(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"parked", "Parked", ""},
		{"WAITINGAPPROVAL", "WaitingApproval", ""},
		{"RolledBack", "RolledBack", ""},
		{"parkd", "", `--phase "parkd" is not a phase; use one of Running, WaitingApproval, WaitingManual, Parked, RollingBack, Done, RolledBack, Failed, Granted, Drifted, Changing, Revoking, Revoked`},
		{"drifted", "Drifted", ""},
	}
	for _, tt := range tests {
		got, err := canonicalPhase(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("canonicalPhase(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestStepKeyRest: a step's idempotency key is read with and without the
// run chain that workflows' run-scoped keys put after the request's ID.
func TestStepKeyRest(t *testing.T) {
	for _, tt := range []struct{ key, rest string }{
		{"topoflow/KafkaAccess/a/verify", "verify"},
		{"topoflow/KafkaAccess/a@0192-run/create/b-1", "create/b-1"},
		{"topoflow/KafkaAccess/ab/verify", ""},
		{"topoflow/KafkaAccess/a@run", ""},
	} {
		rest, ok := stepKeyRest(tt.key, "topoflow/KafkaAccess/a")
		if rest != tt.rest || ok != (tt.rest != "") {
			t.Errorf("stepKeyRest(%q) = %q, %v; want %q", tt.key, rest, ok, tt.rest)
		}
	}
}
