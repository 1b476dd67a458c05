package report

import (
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/leaks"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

func TestPaths_Apply(t *testing.T) {
	p := Paths{
		Map: []PathRewrite{
			{From: "github.com/you/app", To: ""},
			{From: "/ci/checkout/", To: "."},
			{From: "/opt/app/python", To: "python"},
		},
		SourceRoot: "/build/src/app",
	}
	tabletest.Func(t, "p.Apply", p.Apply, map[string]string{
		"github.com/you/app/ui/player.go": "ui/player.go",
		"github.com/you/application/x.go": "github.com/you/application/x.go", // not at a "/"
		"/ci/checkout/cmd/main.go":        "cmd/main.go",
		"/opt/app/python/tab.py":          "python/tab.py",
		"/build/src/app/ui/tab.go":        "ui/tab.go",
		`C:\build\x.go`:                   "C:/build/x.go",
		"/usr/lib/go/src/net/http/x.go":   "/usr/lib/go/src/net/http/x.go",
		"ui/tab.go":                       "ui/tab.go",
	})
	if got := (Paths{}).Apply("/abs/x.go"); got != "/abs/x.go" {
		t.Errorf("no mapping: %q", got)
	}
	for _, bad := range []string{"nothing", "=to"} {
		if _, err := ParsePathRewrite(bad); err == nil {
			t.Errorf("ParsePathRewrite(%q): no error", bad)
		}
	}
}

// mappedReport has two orphaned resources, one created at an absolute path
// of the build machine, one at a module-prefixed path (-trimpath).
func mappedReport(t *testing.T) *leaks.Report {
	t.Helper()
	s := &snapshot.Snapshot{Format: snapshot.FormatV1, TakenAt: time.Date(2026, 11, 27, 12, 0, 5, 0, time.UTC)}
	s.Resources = []snapshot.Resource{
		{ID: "r-1", Type: "memory", Owner: "gone", Name: "abs", State: snapshot.StateActive, CreatedBy: snapshot.NewStack("/build/src/app/ui/tab.go:12 ui.Open")},
		{ID: "r-2", Type: "file", Owner: "gone", Name: "mod", State: snapshot.StateActive, CreatedBy: snapshot.NewStack("github.com/you/app/ui/player.go:30 ui.Play")},
	}
	ix, err := snapshot.NewIndex(s)
	if err != nil {
		t.Fatal(err)
	}
	return leaks.Analyze(ix, leaks.ReportOptions{FailOn: leaks.SeverityError})
}

var mapped = Paths{Map: []PathRewrite{{From: "github.com/you/app", To: ""}}, SourceRoot: "/build/src/app"}

func printed(t *testing.T, format string, opts Options) string {
	t.Helper()
	return string(printReport(t, format, opts, mappedReport(t)))
}

// SARIF, GitHub annotations and JUnit locate findings at the mapped,
// repository-relative files; without the mapping SARIF and GitHub have
// no location in the repository for them.
func TestPaths_Locations(t *testing.T) {
	want := []string{"ui/player.go:30", "ui/tab.go:12"}
	got := func(format string, opts Options) []string {
		out := printed(t, format, opts)
		var locs []string
		switch format {
		case "sarif":
			var doc struct {
				Runs []struct {
					Results []struct {
						Locations []struct {
							PhysicalLocation struct {
								ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
								Region           struct{ StartLine int } `json:"region"`
							} `json:"physicalLocation"`
						} `json:"locations"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			for _, r := range doc.Runs[0].Results {
				l := r.Locations[0].PhysicalLocation
				locs = append(locs, l.ArtifactLocation.URI+":"+itoa(l.Region.StartLine))
			}
		case "github":
			for line := range strings.Lines(out) {
				if !strings.HasPrefix(line, "::error ") {
					continue
				}
				var file, ln string
				for prop := range strings.SplitSeq(strings.TrimPrefix(strings.SplitN(line, "::", 3)[1], "error "), ",") {
					if v, ok := strings.CutPrefix(prop, "file="); ok {
						file = v
					}
					if v, ok := strings.CutPrefix(prop, "line="); ok {
						ln = v
					}
				}
				if file != "" {
					locs = append(locs, file+":"+ln)
				}
			}
		case "junit":
			var suites struct {
				Suites []struct {
					Cases []struct {
						File string `xml:"file,attr"`
						Line string `xml:"line,attr"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal([]byte(out), &suites); err != nil {
				t.Fatal(err)
			}
			for _, s := range suites.Suites {
				for _, c := range s.Cases {
					if c.File != "" {
						locs = append(locs, c.File+":"+c.Line)
					}
				}
			}
		}
		slices.Sort(locs)
		return locs
	}
	for _, format := range []string{"sarif", "github", "junit"} {
		if locs := got(format, Options{Paths: mapped}); strings.Join(locs, " ") != strings.Join(want, " ") {
			t.Errorf("%s with the mapping: locations %q, want %q", format, locs, want)
		}
		for _, l := range got(format, Options{}) {
			if format != "junit" && (l == want[0] || l == want[1]) {
				t.Errorf("%s without the mapping locates %s", format, l)
			}
		}
	}
}
