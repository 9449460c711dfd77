// Command topoflow is Topoflow's command-line interface: it validates specs,
// shows the plans compiled from them, and (in other files of this package)
// applies them as Temporal workflows and steers running requests.
package main

import (
	"io"
	"os"
	"strconv"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args with the given output streams and
// returns the process exit code: 0 on success, 1 on failure (invalid spec,
// failed request), 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := rootCmd
	resetFlags()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	if ec, ok := err.(exitCode); ok {
		return int(ec)
	}
	if _, ok := err.(usageError); ok {
		io.WriteString(stderr, "Error: "+err.Error()+"\n")
		return 2
	}
	io.WriteString(stderr, "Error: "+err.Error()+"\n")
	return 1
}

// exitCode is returned by commands that already printed their diagnostics
// and only need the process to exit with the code.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// usageError is a command-line usage mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
