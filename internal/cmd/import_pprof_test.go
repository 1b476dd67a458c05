package cmd

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rescoord/rescoord/internal/tools/helper"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// leakyGo builds internal/tools/leakygo (with env, such as the
// goroutineleakprofile experiment), starts it, makes it leak twice and
// returns its pprof: target.
func leakyGo(t *testing.T, env ...string) string {
	t.Helper()
	p := helper.Start(t, helper.Build(t, "./internal/tools/leakygo", env...))
	base := strings.TrimPrefix(p.Expect("listening "), "listening ")
	for i := 1; i <= 2; i++ {
		p.Send("leak")
		p.Expect(fmt.Sprintf("leaked %d", i))
	}
	return "pprof:" + base
}

func TestPprof_LeakedGoroutines(t *testing.T) {
	target := leakyGo(t, "GOEXPERIMENT=goroutineleakprofile")
	r := runCLI(t, "leaks", "--attach", target)
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 (critical findings): %s", r.Code, r.Stderr)
	}
	wantContains(t, "leaks", r.Stdout,
		`CRITICAL leaked-goroutine ×6 · thread "main.leakLabelled.func1" of /upload`,
		`CRITICAL leaked-goroutine ×4 · thread "main.leakUnlabelled.func1" of main`,
		"/upload (label handler, label/handler=/upload)  alive",
		"10 critical, 0 errors, 0 warnings",
	)
	// Goroutines blocked on a reachable channel are not leaks.
	if strings.Contains(r.Stdout, "main.park") {
		t.Errorf("a parked goroutine is reported:\n%s", r.Stdout)
	}

	// The text form of the leak profile marks them "(leaked)": imported,
	// they are the same findings, grouped by package (a dump has no labels).
	c := newCLI(t)
	c.stdin = importGoroutines(t, httpBody(t, strings.TrimPrefix(target, "pprof:")+"goroutineleak?debug=2"))
	r = c.run("leaks", "-")
	wantContains(t, "leaks of the imported leak dump", r.Stdout,
		`CRITICAL leaked-goroutine ×6 · thread "main.leakLabelled.func1" of main`,
		`CRITICAL leaked-goroutine ×4 · thread "main.leakUnlabelled.func1" of main`,
		"10 critical, 0 errors",
	)
}

// Without the experiment the leak profile is not served (404): the
// goroutines are read all the same, none marked leaked.
func TestPprof_LeakProfileNotServed(t *testing.T) {
	target := leakyGo(t)
	r := runCLI(t, "leaks", "--attach", target)
	if r.Code != 0 || strings.Contains(r.Stdout, "leaked-goroutine") {
		t.Fatalf("exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = runCLI(t, "list", "-o", "json", "--attach", target)
	var s struct{ Resources []snapshot.Resource }
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.Stderr)
	}
	count := map[string]int{}
	for _, res := range s.Resources {
		count[res.Owner+" "+res.Name]++
	}
	// Labelled goroutines go under their label's value (the only label key,
	// so the default), the others under their package.
	for key, want := range map[string]int{
		"label/handler=/upload main.leakLabelled.func1": 6,
		"package/main main.leakUnlabelled.func1":        4,
		"package/main main.park.func1":                  2,
	} {
		if count[key] != want {
			t.Errorf("%s: %d goroutines, want %d (all: %v)", key, count[key], want, count)
		}
	}
	// The same profile saved to a file imports the same way.
	pb := httpBody(t, strings.TrimPrefix(target, "pprof:")+"goroutine")
	imported := importGoroutines(t, pb)
	imp, err := snapshot.Decode(strings.NewReader(imported), "imported")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, res := range imp.Resources {
		if res.Owner == "label/handler=/upload" && res.Name == "main.leakLabelled.func1" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("the imported profile has %d labelled leaking goroutines, want 6", n)
	}
	c := newCLI(t)
	c.stdin = string(pb[:len(pb)/2])
	oneLine(t, c.run("import", "goroutines", "-"), "rescoord: -: ")

	// A label no goroutine carries: every one goes under its package.
	r = runCLI(t, "list", "--attach", target, "--label", "tenant")
	if strings.Contains(r.Stdout, "label/") || !strings.Contains(r.Stdout, "package/main") {
		t.Errorf("--label tenant:\n%s", r.Stdout)
	}
}

func TestPprof_Refusals(t *testing.T) {
	big := bytes.Repeat([]byte{0}, 4096)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 1<<20))
	_ = zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/broken/goroutine":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/text/goroutine":
			_, _ = w.Write([]byte("goroutine profile: total 1\n"))
		case "/big/goroutine":
			_, _ = w.Write(big)
		case "/bomb/goroutine":
			_, _ = w.Write(zipped.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	oneLine(t, runCLI(t, "list", "--attach", "pprof:"+srv.URL+"/broken/"), "/broken/goroutine?debug=0: 500 Internal Server Error")
	oneLine(t, runCLI(t, "list", "--attach", "pprof:"+srv.URL+"/text/"), "not a pprof profile")
	oneLine(t, runCLI(t, "list", "--attach", "pprof:"+srv.URL+"/big/", "--max-input", "1KB"), "larger than the limit of 1000 B (1000 bytes): raise --max-input to read it")
	oneLine(t, runCLI(t, "list", "--attach", "pprof:"+srv.URL+"/bomb/", "--max-input", "64KB"), "decompressed input larger than the limit")
	oneLine(t, runCLI(t, "list", "--attach", "pprof:"+srv.URL+"/none/"), "goroutine profile not served")
	oneLine(t, runCLI(t, "list", "--attach", "pprof:ftp://x/"), `invalid attach target "pprof:ftp://x/"`)
	oneLine(t, runCLI(t, "list", "--attach", "pprof:http://u:secret@127.0.0.1:1/"), "credentials in the URL are not supported")
	if r := runCLI(t, "list", "--attach", "pprof:http://u:secret@127.0.0.1:1/"); strings.Contains(r.Stderr, "secret") {
		t.Errorf("the password is shown: %s", r.Stderr)
	}
}
