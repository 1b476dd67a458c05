package registry

import "github.com/rescoord/rescoord/internal/attach"

// LoopbackHostForTest exposes the Host check to the external tests.
var LoopbackHostForTest = attach.LoopbackHost
