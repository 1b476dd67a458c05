package report

import (
	"bytes"
	"html"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rescoord/rescoord/internal/tabletest"
	"github.com/rescoord/rescoord/pkg/leaks"
)

// renderGFM renders Markdown as GitHub does its comments, with cmark-gfm
// and GitHub's extensions, raw HTML let through (--unsafe) so that any
// HTML a name smuggles in shows.
func renderGFM(t *testing.T, md []byte) string {
	t.Helper()
	cmark := consumer(t, "cmark-gfm")
	cmd := exec.Command(cmark, "--unsafe", "-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter", "-e", "tasklist")
	cmd.Stdin = bytes.NewReader(md)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cmark-gfm: %v", err)
	}
	return string(out)
}

var (
	// The elements the report itself writes; anything else came from a name.
	ownTags = map[string]bool{"h3": true, "p": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
		"details": true, "summary": true, "b": true, "code": true, "pre": true, "strong": true, "sub": true}
	tagRE     = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)`)
	mentionRE = regexp.MustCompile(`(^|[^\w` + "\u2060" + `])@[A-Za-z0-9]`)
	refRE     = regexp.MustCompile(`#[0-9]|\bGH-[0-9]`)
	anyTagRE  = regexp.MustCompile(`<[^>]*>`)
	codeRE    = regexp.MustCompile(`(?s)<pre>.*?</pre>|<code>.*?</code>`)
	tableRE   = regexp.MustCompile(`(?s)<table>.*?</table>`)
	rowRE     = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
)

// checkMarkdown renders a Markdown report and holds it to what GitHub
// takes and shows: under 65,536 characters, only the report's own
// elements, no mention or reference outside code, and tables whose rows
// have their columns. It returns the HTML and the rows (header included)
// of each table.
func checkMarkdown(t *testing.T, md []byte) (string, [][]int) {
	t.Helper()
	if !utf8.Valid(md) {
		t.Error("not UTF-8")
	}
	if n := utf8.RuneCount(md); n >= 65_536 || len(md) > maxMarkdownBytes {
		t.Errorf("%d characters, %d bytes", n, len(md))
	}
	out := renderGFM(t, md)
	for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
		if !ownTags[strings.ToLower(m[1])] {
			t.Errorf("element <%s> in the rendered report", m[1])
		}
	}
	if strings.Contains(out, "&#"+wordJoiner) {
		t.Error("an HTML entity is broken by a word joiner")
	}
	// The text a reader sees, outside code: what GitHub links mentions and
	// references in.
	text := html.UnescapeString(anyTagRE.ReplaceAllString(codeRE.ReplaceAllString(out, ""), ""))
	if m := mentionRE.FindString(text); m != "" {
		t.Errorf("a mention survives: %q", m)
	}
	if m := refRE.FindString(text); m != "" {
		t.Errorf("a reference survives: %q", m)
	}
	var tables [][]int
	for _, tb := range tableRE.FindAllString(out, -1) {
		var cols []int
		for _, row := range rowRE.FindAllStringSubmatch(tb, -1) {
			cols = append(cols, strings.Count(row[1], "<td")+strings.Count(row[1], "<th"))
		}
		tables = append(tables, cols)
	}
	return out, tables
}

// rows checks a table's rows have cols columns each, and returns how many
// rows it has below its header.
func rows(t *testing.T, table []int, cols int) int {
	t.Helper()
	for i, n := range table {
		if n != cols {
			t.Errorf("row %d has %d columns, want %d", i, n, cols)
		}
	}
	return len(table) - 1
}

func TestMarkdown_ConsumersRenderTheDemo(t *testing.T) {
	r := demoReport(t)
	out, tables := checkMarkdown(t, printReport(t, "markdown", Options{Input: "demo"}, r))
	if len(tables) != 2 || rows(t, tables[0], 5) != 1 || rows(t, tables[1], 4) != len(r.Groups) {
		t.Errorf("tables: %v", tables)
	}
	if n := strings.Count(out, "<details>"); n != len(r.Groups) {
		t.Errorf("%d traces for %d groups", n, len(r.Groups))
	}
}

// Names that hold Markdown, HTML, mentions, references, links, pipes and
// line breaks render as the text they are.
func TestMarkdown_HostileNames(t *testing.T) {
	r := hostileReport(t)
	sup, err := leaks.ParseSuppressions([]byte("suppressions:\n  - name: \"nothing|matches*\"\n    reason: \"@octocat #12 <b>x</b> | *y* [z](http://evil.example/)\"\n"), "ignore|<i>.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r2 := analyzeFile(t, demoSnapshot, leaks.ReportOptions{Suppressions: sup})
	for name, md := range map[string][]byte{
		"hostile":      printReport(t, "markdown", Options{Input: "@octocat|<b>`x`</b>.json", Baseline: "#1 *b*.json", FullReport: "out/@team #9.json"}, r),
		"suppressions": printReport(t, "markdown", Options{Input: "-"}, r2),
	} {
		out, tables := checkMarkdown(t, md)
		switch name {
		case "hostile":
			if len(tables) != 2 || rows(t, tables[1], 4) != len(r.Groups) {
				t.Errorf("%s: tables %v, want %d rows", name, tables, len(r.Groups))
			}
			for _, want := range []string{"pipe|`tick`*star*_u_[l](http:", "&lt;script&gt;alert(1)&lt;/script&gt;", `line\nbreak\r\nwin`} {
				if !strings.Contains(strings.ReplaceAll(out, "\u2060", ""), want) {
					t.Errorf("%s: the name %q is not shown as text", name, want)
				}
			}
		case "suppressions":
			if len(tables) != 3 || rows(t, tables[2], 5) != 1 {
				t.Errorf("%s: tables %v", name, tables)
			}
		}
	}
}

func TestMDText(t *testing.T) {
	tabletest.Func(t, "mdText", mdText, map[string]string{
		"plain name":             "plain name",
		"a|b":                    `a\|b`,
		"*x* _y_ `z` ~w~ [l](u)": `\*x\* \_y\_ \` + "`z\\`" + ` \~w\~ \[l\]\(u\)`,
		"<b>&amp;</b>":           "&lt;b&gt;&amp;amp;&lt;/b&gt;",
		"@user and #12 GH-3":     "@\u2060user and #\u206012 GH\u2060-3",
		"http://x www.y.z":       "http:\u2060//x www\u2060.y.z",
		"back\\slash $x$":        `back\\slash \$x\$`,
		"nl\nesc\x1b":            `nl\\nesc\\x1b`,
	})
	if got := mdText(strings.Repeat("&", 1000)); len(got) > maxMarkdownText || !strings.HasSuffix(got, "…") {
		t.Errorf("%d bytes", len(got))
	}
}

// A pull-request comment holds 65,536 characters: the report caps itself,
// and the counts it shows agree — traces only of groups in the table, and
// the "more" lines count what is left out and say where it is.
func TestMarkdown_FitsInAComment(t *testing.T) {
	r := manyLeaks(t, 2000)
	md := printReport(t, "markdown", Options{Input: "big.json", FullReport: "leaks.json"}, r)
	out, tables := checkMarkdown(t, md)
	if rows(t, tables[1], 4) != maxMarkdownRows {
		t.Errorf("table: %v", tables[1])
	}
	traces := strings.Count(out, "<details>")
	if traces > maxMarkdownRows {
		t.Errorf("%d traces for %d rows", traces, maxMarkdownRows)
	}
	s := string(md)
	if !strings.Contains(s, "…and 1950 more groups not in this table: the full report is `leaks.json` (written with `-o json`).") {
		t.Errorf("the groups left out are not announced:\n%s", s[len(s)-600:])
	}
	if traces < maxMarkdownRows && !strings.Contains(s, "The traces of the other "+itoa(maxMarkdownRows-traces)+" groups in the table are not shown") {
		t.Errorf("%d traces shown, and the others are not counted right", traces)
	}

	// Long names: each string is shortened, the comment still fits, and
	// traces make room.
	long := manyLeaks(t, 60)
	for i := range long.Index.Snap.Resources {
		long.Index.Snap.Resources[i].Name = strings.Repeat("&@|", 20_000)
	}
	md = printReport(t, "markdown", Options{Input: strings.Repeat("x", 100_000)}, long)
	_, tables = checkMarkdown(t, md)
	if rows(t, tables[1], 4) != maxMarkdownRows || !strings.Contains(string(md), "run `rescoord leaks -o json` for the full report") {
		t.Errorf("long names: %v", tables)
	}
}

func TestMarkdown_LargeSnapshot(t *testing.T) {
	r := largeReport(t)
	md := printReport(t, "markdown", Options{Input: "large.json", FullReport: "leaks.json"}, r)
	out, tables := checkMarkdown(t, md)
	if rows(t, tables[1], 4) != maxMarkdownRows {
		t.Errorf("table: %v", tables[1])
	}
	t.Logf("%d groups: %d bytes, %d characters, %d traces", len(r.Groups), len(md), utf8.RuneCount(md), strings.Count(out, "<details>"))
}

func itoa(n int) string { return strconv.Itoa(n) }
