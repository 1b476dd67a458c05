package leaks

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/testsnap"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// osView is a proc: snapshot of process 100 as internal/procsnap writes one.
func osView(t *testing.T) *snapshot.Index {
	return testsnapWithPID(t, 100, `[{"id":"process","state":"alive"}]`, `[
		{"id":"thread/100","type":"thread","owner":"process","state":"active","running":true,"metadata":{"tid":100}},
		{"id":"thread/101","type":"thread","owner":"process","state":"active","metadata":{"tid":101}},
		{"id":"thread/102","type":"thread","owner":"process","state":"active","metadata":{"tid":102}},
		{"id":"thread/103","type":"thread","name":"rescoord-conn","owner":"process","state":"active","metadata":{"tid":103}},
		{"id":"file/dev/null","type":"file","name":"/dev/null","owner":"process","state":"active","metadata":{"fd":0,"path":"/dev/null"}},
		{"id":"file/dev/pts/0","type":"file","name":"/dev/pts/0","owner":"process","state":"active","metadata":{"fd":5,"path":"/dev/pts/0"}},
		{"id":"file/data/a.db","type":"file","name":"/data/a.db","owner":"process","state":"active","metadata":{"fd":7,"path":"/data/a.db"}},
		{"id":"file/data/b.log","type":"file","name":"/data/b.log","owner":"process","state":"active","metadata":{"fd":8,"path":"/data/b.log"}},
		{"id":"file/data/c.tmp","type":"file","name":"/data/c.tmp","owner":"process","state":"active","metadata":{"fd":9,"path":"/data/c.tmp"}},
		{"id":"tcp/127.0.0.1:5000/0.0.0.0:0","type":"socket","owner":"process","state":"active","metadata":{"fd":10,"protocol":"tcp","local":"127.0.0.1:5000","remote":"0.0.0.0:0","state":"LISTEN"}},
		{"id":"tcp/10.0.0.1:4000/10.0.0.2:443","type":"socket","owner":"process","state":"active","metadata":{"fd":11,"protocol":"tcp","local":"10.0.0.1:4000","remote":"10.0.0.2:443","state":"ESTABLISHED"}},
		{"id":"tcp/10.0.0.1:4001/10.0.0.3:443","type":"socket","owner":"process","state":"active","metadata":{"fd":12,"protocol":"tcp","local":"10.0.0.1:4001","remote":"10.0.0.3:443","state":"ESTABLISHED"}},
		{"id":"unix/stream/","type":"socket","owner":"process","state":"active","metadata":{"fd":13,"protocol":"unix","kind":"stream"}},
		{"id":"unix/stream//run/app.sock","type":"socket","owner":"process","state":"active","metadata":{"fd":14,"protocol":"unix","kind":"stream","path":"/run/app.sock"}},
		{"id":"pipe/77","type":"pipe","owner":"process","state":"active","metadata":{"fd":15,"inode":77}},
		{"id":"anon/eventpoll","type":"eventpoll","owner":"process","state":"active","metadata":{"fd":16}},
		{"id":"process/200","type":"process","owner":"process","state":"active","metadata":{"pid":200}},
		{"id":"process/201","type":"process","owner":"process","state":"active","metadata":{"pid":201}}]`)
}

// testsnapWithPID is testsnap.Lists with source.pid set.
func testsnapWithPID(t *testing.T, pid int64, comps, res string) *snapshot.Index {
	ix := testsnap.Lists(t, comps, res, "")
	ix.Snap.Source.PID = pid
	return ix
}

func untrackedIDs(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Rule != RuleUntrackedResource || f.Untracked == nil || f.Severity != SeverityWarning || f.Resource != -1 {
			continue
		}
		out = append(out, f.ResourceID)
	}
	return out
}

func TestReconcile_ReportsWhatTheRegistryDoesNotName(t *testing.T) {
	reg := testsnapWithPID(t, 100, `[{"id":"app","state":"alive"}]`, `[
		{"id":"r-1","type":"file","owner":"app","state":"active","metadata":{"fd":7}},
		{"id":"r-2","type":"file","owner":"app","state":"active","metadata":{"path":"/data/b.log"}},
		{"id":"r-3","type":"file","owner":"app","state":"released","metadata":{"fd":9}},
		{"id":"r-4","type":"socket","owner":"app","state":"active","metadata":{"local":"127.0.0.1:5000"}},
		{"id":"r-5","type":"socket","owner":"app","state":"active","metadata":{"local":"10.0.0.1:4000","remote":"10.0.0.2:443"}},
		{"id":"r-6","type":"thread","owner":"app","state":"active","metadata":{"tid":101}},
		{"id":"r-7","type":"process","owner":"app","state":"active","metadata":{"pid":200}},
		{"id":"r-8","type":"custom","owner":"app","state":"active","metadata":"not an object"}]`)
	got := untrackedIDs(Reconcile(reg, osView(t), "/run/app.sock"))
	want := []string{
		"thread/102",                     // the registry tracks threads by tid, not this one
		"file/data/c.tmp",                // only a released resource named it
		"tcp/10.0.0.1:4001/10.0.0.3:443", // another connection
		"process/201",
	}
	if !slices.Equal(got, want) {
		t.Errorf("untracked:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// Without the server's address its socket is untracked too.
	if got := untrackedIDs(Reconcile(reg, osView(t))); !slices.Contains(got, "unix/stream//run/app.sock") {
		t.Errorf("the server's own socket, not named as such: %v", got)
	}
}

func TestReconcile_ThreadsOnlyWhenTheRegistryTracksThem(t *testing.T) {
	reg := testsnapWithPID(t, 100, `[{"id":"app","state":"alive"}]`, `[]`)
	for _, id := range untrackedIDs(Reconcile(reg, osView(t))) {
		if strings.HasPrefix(id, "thread/") {
			t.Errorf("%s reported, but the registry names no thread by tid (a runtime's threads)", id)
		}
	}
}

func TestReconcile_InTheReport(t *testing.T) {
	reg := testsnapWithPID(t, 100, `[{"id":"app","state":"alive"}]`, `[]`)
	r := Analyze(reg, ReportOptions{FailOn: SeverityError, Reconcile: osView(t), Serving: []string{"/run/app.sock"}})
	if r.RuleCounts[RuleUntrackedResource] == 0 || !slices.Contains(r.Rules, RuleUntrackedResource) {
		t.Fatalf("the report has no untracked-resource findings: %+v", r.RuleCounts)
	}
	if without := Analyze(reg, ReportOptions{FailOn: SeverityError}); slices.Contains(without.Rules, RuleUntrackedResource) {
		t.Error("untracked-resource listed as run without --reconcile")
	}
	var fd *Finding
	for i := range r.Groups {
		if f := &r.Groups[i].Findings[0]; f.ResourceID == "file/data/c.tmp" {
			fd = f
		}
	}
	if fd == nil {
		t.Fatal("no finding for file/data/c.tmp")
	}
	if want := `file "/data/c.tmp" (fd 9) is open in the process, but the registry tracks no resource for it`; !strings.HasPrefix(fd.Message, want) {
		t.Errorf("message %q", fd.Message)
	}
	j := string(fd.AppendJSON(nil, "", ""))
	if !strings.Contains(j, `"untracked":{"type":"file","name":"/data/c.tmp","detail":"fd 9"}`) || !strings.Contains(j, `"resource":"file/data/c.tmp"`) {
		t.Errorf("JSON %s", j)
	}
}

// failAfter is a reader that fails once its data is read: IsReport must
// decide before it.
type failAfter struct {
	r    io.Reader
	past bool
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		f.past = true
		return n, errors.New("read past what IsReport needs")
	}
	return n, err
}

// TestIsReport_ReadsNoFurtherThanTheFirstKey: a report is told from a
// snapshot by its first "findings" or "format" key, and a snapshot's rest
// is never read.
func TestIsReport_ReadsNoFurtherThanTheFirstKey(t *testing.T) {
	for _, tt := range []struct {
		head string
		want bool
	}{
		{`{"format": "rescoord/v1", `, false},
		{`{"findings": [`, true},
		{`{"x": {"findings": [1, {"format": 2}]}, "findings": [`, true},
		{`{"x": [{"findings": 1}], "format": "rescoord/v1",`, false},
		{`[`, false},
	} {
		r := &failAfter{r: strings.NewReader(tt.head)}
		if got := IsReport(r); got != tt.want || r.past && tt.head != "[" {
			t.Errorf("%s…: IsReport = %v (read past it: %v), want %v", tt.head, got, r.past, tt.want)
		}
	}
	if IsReport(strings.NewReader(`{"summary": {}}`)) {
		t.Error("an object with neither key is a report")
	}
}
