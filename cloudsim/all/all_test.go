package all_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/all"
)

var registers = regexp.MustCompile(`cloudsim\.RegisterProvider\("([a-z0-9-]+)"`)

// TestEveryProviderRegistered checks that the assembly registers every
// provider package under cloudsim/ (each package that calls
// cloudsim.RegisterProvider outside its tests), exactly the ones it lists,
// and that a sim built from it mounts them all.
func TestEveryProviderRegistered(t *testing.T) {
	files, err := filepath.Glob("../*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var inTree []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range registers.FindAllSubmatch(src, -1) {
			inTree = append(inTree, string(m[1]))
		}
	}
	sort.Strings(inTree)
	if !slices.Equal(inTree, all.Providers) {
		t.Fatalf("provider packages under cloudsim/ register %v; cloudsim/all lists %v: import the missing ones in all.go", inTree, all.Providers)
	}
	if got := cloudsim.Providers(); !slices.Equal(got, all.Providers) {
		t.Fatalf("registered providers %v, want %v", got, all.Providers)
	}
	s, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
}
