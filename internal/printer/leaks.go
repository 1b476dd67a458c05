package printer

import "github.com/rescoord/rescoord/pkg/leaks"

// LeaksData is what `rescoord leaks` prints: a leak report, in the
// formats of internal/report (Options.Report describes the run).
type LeaksData struct {
	Report *leaks.Report
}

func (*LeaksData) kind() Kind { return Leaks }
