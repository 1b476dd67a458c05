package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/internal/testfs"
)

// Files of the main module are relative to its root, however the binary
// was built: with -trimpath (the module path stands for the root) or
// without (an absolute path under the root). Others keep their full path.
func TestFrameFile(t *testing.T) {
	if modulePath != "github.com/rescoord/rescoord" {
		t.Fatalf("main module %q: want the test binary's", modulePath)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.ToSlash(filepath.Dir(filepath.Dir(wd)))
	saved := moduleDir.Load()
	t.Cleanup(func() { moduleDir.Store(saved) })
	moduleDir.Store(nil)
	// The root is learned from a frame of one of the module's packages.
	if got := frameFile(root+"/pkg/registry/stack_test.go", "github.com/rescoord/rescoord/pkg/registry.TestFrameFile"); got != "pkg/registry/stack_test.go" {
		t.Errorf("the registry's own file: %q", got)
	}
	tabletest.Func(t, "frameFile", func(file string) string {
		return frameFile(file, "github.com/rescoord/rescoord/pkg/registry.TestFrameFile")
	}, map[string]string{
		"github.com/rescoord/rescoord/examples/mediaapp/main.go": "examples/mediaapp/main.go",
		"github.com/rescoord/rescoordx/main.go":                  "github.com/rescoord/rescoordx/main.go",
		"github.com/other/lib@v1.2.0/x.go":                       "github.com/other/lib@v1.2.0/x.go",
		root + "/examples/mediaapp/main.go":                      "examples/mediaapp/main.go",
		root + "x/main.go":                                       root + "x/main.go",
		"/usr/lib/go/src/net/http/server.go":                     "/usr/lib/go/src/net/http/server.go",
		"main.go":                                                "main.go",
	})
}

// Without a frame of one of its packages, the root is found from a go.mod
// naming the module: main packages' functions are "main.f".
func TestLearnModuleDir_GoMod(t *testing.T) {
	saved := moduleDir.Load()
	t.Cleanup(func() { moduleDir.Store(saved) })
	moduleDir.Store(nil)
	dir := filepath.ToSlash(t.TempDir())
	testfs.WriteFile(t, dir+"/go.mod", []byte("module "+modulePath+"\n\ngo 1.24\n"), 0o600)
	if got := frameFile(dir+"/cmd/app/main.go", "main.main"); got != "cmd/app/main.go" {
		t.Errorf("frameFile = %q, want cmd/app/main.go", got)
	}
}
