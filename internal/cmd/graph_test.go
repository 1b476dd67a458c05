package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var graphGoldens = []goldenCase{
	{"graph/demo.dot", []string{"graph", "--demo"}},
	{"graph/demo.mmd", []string{"graph", "--demo", "--format", "mermaid"}},
	{"graph/demo-plan.dot", []string{"graph", "--demo", "--plan"}},
	{"graph/demo-plan.mmd", []string{"graph", "--demo", "--plan", "--format", "mermaid"}},
	{"graph/demo-all.dot", []string{"graph", "--demo", "--all"}},
	{"graph/copy_verify_tab-plan.dot", []string{"graph", "--demo", "--component", "copy_verify_tab", "--plan"}},
	{"graph/copy_verify_tab-plan.mmd", []string{"graph", "--demo", "--component", "copy_verify_tab", "--plan", "--format", "mermaid"}},
	{"graph/cycle.dot", []string{"graph", snapshotPath("plan-cycle-three.json")}},
	{"graph/cycle.mmd", []string{"graph", snapshotPath("plan-cycle-three.json"), "--format", "mermaid"}},
	{"graph/escaping.dot", []string{"graph", snapshotPath("plan-graph-escaping.json"), "--all", "--plan"}},
	{"graph/escaping.mmd", []string{"graph", snapshotPath("plan-graph-escaping.json"), "--all", "--plan", "--format", "mermaid"}},
	{"graph/demo-leaks.dot", []string{"graph", "--demo", "--leaks"}},
	{"graph/demo-leaks.mmd", []string{"graph", "--demo", "--leaks", "-o", "mermaid"}},
	{"graph/demo-leaks-plan.dot", []string{"graph", "--demo", "--leaks", "--plan"}},
}

func TestGraph_Golden(t *testing.T) {
	runGoldens(t, graphGoldens, func(t *testing.T, tt goldenCase, res result) {
		if res.Stderr != "" {
			t.Errorf("stderr:\n%s", res.Stderr)
		}
		// Deterministic: a second run prints the same bytes.
		if again := runCLI(t, tt.args...); again.Stdout != res.Stdout {
			t.Error("two runs differ")
		}
	})
}

// TestGraph_DOTIsValid feeds every DOT golden to Graphviz when it is
// installed (apt-get install graphviz); Mermaid output was checked with
// mermaid.parse by hand (see docs/cleanup-ordering.md).
func TestGraph_DOTIsValid(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("RESCOORD_REQUIRE_CONSUMERS") != "" {
			t.Fatal("graphviz (dot) is not installed, and RESCOORD_REQUIRE_CONSUMERS is set")
		}
		t.Skip("graphviz is not installed")
	}
	for _, tt := range graphGoldens {
		if !strings.HasSuffix(tt.golden, ".dot") {
			continue
		}
		res := runCLI(t, tt.args...)
		cmd := exec.Command(dot, "-Tcanon")
		cmd.Stdin = strings.NewReader(res.Stdout)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: dot rejects the output: %v %s", tt.golden, err, stderr.String())
		}
	}
}

func TestGraph_Content(t *testing.T) {
	res := runCLI(t, "graph", "--demo")
	out := res.Stdout
	for _, want := range []string{
		// destroyed component: dashed and grey
		`c2 [label="MediaAnalysisTab\nmedia_analysis_tab · tab\ndestroyed", shape=ellipse, style=dashed, color="gray50", fontcolor="gray50"];`,
		// a missing parent and a missing owner get a dotted placeholder
		`m0 [label="plugin_host\nnot in snapshot", shape=ellipse, style=dotted`,
		`[label="export_dialog\nnot in snapshot"`,
		// depends_on is dashed, ownership solid
		`r3 -> r2 [style=dashed, color="steelblue"];`,
		"  c0 -> c1;\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT lacks %q", want)
		}
	}
	if strings.Contains(out, "r-1044") {
		t.Error("a released resource is drawn without --all")
	}
	if !strings.Contains(runCLI(t, "graph", "--demo", "--all").Stdout, "r-1044") {
		t.Error("--all does not draw released resources")
	}

	// --plan numbers every resource and component step of the plan.
	plan := runCLI(t, "graph", "--demo", "--plan").Stdout
	labels := regexp.MustCompile(`label="#(\d+) `).FindAllStringSubmatch(plan, -1)
	if len(labels) != 38 { // 44 steps less 6 callbacks
		t.Errorf("%d numbered nodes, want 38", len(labels))
	}
	if !strings.Contains(plan, `callbacks #25 #26`) {
		t.Error("the controller does not list its callbacks' steps")
	}

	// --component cuts the subtree: no node outside it, no placeholder.
	sub := runCLI(t, "graph", "--demo", "--component", "thumbnail_tab").Stdout
	for _, absent := range []string{"MainWindow", "copy_verify", "not in snapshot", "r-2001"} {
		if strings.Contains(sub, absent) {
			t.Errorf("subtree graph contains %q", absent)
		}
	}
	if !strings.Contains(sub, "thumbnail-decoder") {
		t.Error("subtree graph lacks the subtree's resources")
	}
}

func TestGraph_CycleInRed(t *testing.T) {
	out := runCLI(t, "graph", snapshotPath("plan-cycle-three.json")).Stdout
	red := regexp.MustCompile(`(?m)^  (r\d+) \[.*color="red"`).FindAllStringSubmatch(out, -1)
	if len(red) != 3 {
		t.Errorf("%d red nodes, want the 3 members:\n%s", len(red), out)
	}
	if n := strings.Count(out, `style=dashed, color="red", penwidth=2`); n != 3 {
		t.Errorf("%d red dependency edges, want 3", n)
	}
	mm := runCLI(t, "graph", snapshotPath("plan-cycle-three.json"), "--format", "mermaid").Stdout
	if !strings.Contains(mm, "class r0,r1,r2 cycle") {
		t.Errorf("mermaid does not class the members as cycle:\n%s", mm)
	}
	if strings.Contains(mm, "linkStyle 5,6,7 stroke:steelblue") {
		t.Errorf("mermaid styles the cycle's links twice:\n%s", mm)
	}
}

// dotAttrList is the attribute list of a DOT node or edge statement.
var dotAttrList = regexp.MustCompile(`(?m)^  \S+(?: -> \S+)? \[(.*)\];$`)

// dotKey is an attribute name at the start of the list or after ", ",
// outside the quoted label (labels are quoted and come first).
var dotKey = regexp.MustCompile(`(?:^|, )([a-z]+)=`)

// TestGraph_NoDuplicateAttributes: no node or edge of any drawing carries
// an attribute twice (a cycle edge once had color twice).
func TestGraph_NoDuplicateAttributes(t *testing.T) {
	for _, args := range [][]string{
		{"graph", snapshotPath("plan-cycle-three.json")},
		{"graph", snapshotPath("plan-cycle-two.json")},
		{"graph", snapshotPath("plan-cycle-self.json"), "--all"},
		{"graph", "--demo", "--all", "--plan"},
		{"graph", hostileSnapshot(t), "--all"},
	} {
		out := runCLI(t, args...).Stdout
		stmts := dotAttrList.FindAllStringSubmatch(out, -1)
		if len(stmts) == 0 {
			t.Fatalf("%v: no statements with attributes:\n%s", args, out)
		}
		for _, m := range stmts {
			list := m[1]
			if strings.HasPrefix(list, "label=") { // skip the quoted label
				if end := strings.Index(list, `", `); end >= 0 {
					list = list[end+1:]
				} else {
					continue
				}
			}
			seen := map[string]bool{}
			for _, k := range dotKey.FindAllStringSubmatch(list, -1) {
				if seen[k[1]] {
					t.Errorf("%v: %s twice in %q", args, k[1], m[0])
				}
				seen[k[1]] = true
			}
		}
	}
}

func TestGraph_Errors(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"graph", snapshotPath("plan-cycle-three.json"), "--plan"},
			"rescoord: no cleanup plan: the hard constraints form a cycle: resource r-1 → resource r-2 → resource r-3 → resource r-1 (drop --plan to draw the graph with the cycle in red)\n"},
		{[]string{"graph", "--demo", "--component", "nope"}, "rescoord: no component \"nope\" in the snapshot\n"},
		{[]string{"graph", "--demo", "--format", "svg"}, "rescoord: invalid --output \"svg\": want dot or mermaid\n"},
		{[]string{"graph"}, "rescoord: no input: give a snapshot file, - for standard input, --demo for the built-in sample, or --attach TARGET\n"},
	}
	for _, tt := range tests {
		res := runCLI(t, tt.args...)
		if res.Code != ExitError || res.Stdout != "" || res.Stderr != tt.stderr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, res.Code, res.Stdout, res.Stderr, tt.stderr)
		}
	}
}

func TestGraph_FlagsReachOptions(t *testing.T) {
	var got *GraphOptions
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
	c := NewCmdGraph(f, func(o *GraphOptions) error { got = o; return nil })
	c.SetArgs([]string{"-o", "mermaid", "--format", "dot=g.dot", "--component", "tab", "--plan", "--all", "--demo"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !slices.Equal(got.Outputs, []string{"mermaid", "dot=g.dot"}) || got.Component != "tab" || !got.Plan || !got.All || !got.Input.Demo {
		t.Errorf("options = %+v", got)
	}
	if f := c.Flags().Lookup("format"); f == nil || !f.Hidden {
		t.Error("--format is not a hidden alias")
	}
}

// TestGraph_Leaks: the findings of rescoord leaks are filled by kind, with
// a legend of the kinds drawn; --leaks keeps only the paths to them.
func TestGraph_Leaks(t *testing.T) {
	node := func(out, label string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^  [a-z]\d+ \[label="` + regexp.QuoteMeta(label) + `.*$`).FindString(out)
		if m == "" {
			t.Fatalf("no node %q in:\n%s", label, out)
		}
		return m
	}
	full := runCLI(t, "graph", "--demo").Stdout
	for label, fill := range map[string]string{
		"analysis-worker\\nr-1042":   "#ff9b9b", // running-orphan
		"progress-timer\\nr-1043":    "#ff9b9b", // running-under-orphan
		"export-worker\\nr-6001":     "#ffd27f", // orphaned-resource (missing owner)
		"AudioWaveformPlugin":        "#ffd27f", // orphaned-component
		"ThumbnailTab":               "#d9b3ff", // over-component-limit, the subtree
		"ThumbnailWorkerCoordinator": "#d9b3ff",
		"thumbnail-decoder\\nr-3011": "#d9b3ff",
	} {
		if n := node(full, label); !strings.Contains(n, `fillcolor="`+fill+`"`) {
			t.Errorf("%s is not filled %s: %s", label, fill, n)
		}
	}
	if n := node(full, "copy-worker"); strings.Contains(n, "fillcolor") {
		t.Errorf("a node without a finding is filled: %s", n)
	}
	for _, legend := range []string{`label="running orphan"`, `label="orphan"`, `label="over its limit (subtree)"`} {
		if !strings.Contains(full, legend) {
			t.Errorf("the legend lacks %s", legend)
		}
	}
	mm := runCLI(t, "graph", "--demo", "-o", "mermaid").Stdout
	for _, want := range []string{`subgraph legend["leaks"]`, "classDef runningOrphan fill:#ff9b9b", "classDef overLimit fill:#d9b3ff"} {
		if !strings.Contains(mm, want) {
			t.Errorf("mermaid lacks %q", want)
		}
	}

	only := runCLI(t, "graph", "--demo", "--leaks").Stdout
	for _, absent := range []string{"copy-worker", "ThumbnailWorkerCoordinator", "StatusBarWidget"} {
		if strings.Contains(only, absent) {
			t.Errorf("--leaks draws %s, which is on no path to a finding", absent)
		}
	}
	for _, present := range []string{"MainWindow", "MediaAnalysisTab", "analysis-worker", "export_dialog", "plugin_host"} {
		if !strings.Contains(only, present) {
			t.Errorf("--leaks lacks %s, on the path to a finding", present)
		}
	}

	// A snapshot without findings has no legend and nothing filled.
	clean := runCLI(t, "graph", snapshotPath("clean.json")).Stdout
	if strings.Contains(clean, "legend") || strings.Contains(clean, "fillcolor") {
		t.Errorf("a clean snapshot is drawn with leaks:\n%s", clean)
	}
}
