package stack

// The in-process cloudsim mounts every provider of the twin's assembly, as
// cmd/cloudsim (make dev) does.
import _ "github.com/topoflow/topoflow/cloudsim/all"
