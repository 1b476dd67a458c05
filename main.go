// Command rescoord inspects the resource registries of long-running
// applications: what is tracked, how cleanup would run, and what leaks.
package main

import (
	_ "embed"
	"os"

	"github.com/rescoord/rescoord/internal/cmd"
)

// demo is the sample snapshot that --demo reads.
//
//go:embed testdata/snapshots/media-app.json
var demo []byte

func main() { os.Exit(cmd.Main(demo)) }
