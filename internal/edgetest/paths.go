package edgetest

import (
	"bufio"
	"os"
	"path/filepath"
	"sync"
)

var root = sync.OnceValue(func() string {
	dir, err := os.Getwd()
	if err != nil {
		panic("edgetest: " + err.Error())
	}
	for {
		if isProjectRoot(dir) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			panic("edgetest: no directory at or above the working directory holds the go.mod of intake.dev/intake")
		}
		dir = up
	}
})

func isProjectRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	return sc.Scan() && sc.Text() == "module intake.dev/intake"
}

// Root is the project's root: the nearest directory at or above the working directory (a test's
// package directory, under go test) whose go.mod is intake.dev/intake's. It panics outside the
// project's tree.
func Root() string { return root() }

// Example is a path under the project's examples/ (schemas, stream config, events).
func Example(elem ...string) string {
	return filepath.Join(append([]string{root(), "examples"}, elem...)...)
}

// SharedData is a path under ../shared/data beside the project's root: real schema repositories,
// the production stream config, example events.
func SharedData(elem ...string) string {
	return filepath.Join(append([]string{root(), "..", "shared", "data"}, elem...)...)
}
