package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/registry"
)

// TestCleanupLive_SaysWhatBlocksExit: a step that runs past a second is
// reported while it runs, with the steps waiting on it; when its timeout
// passes, the steps that went on without it are named.
func TestCleanupLive_SaysWhatBlocksExit(t *testing.T) {
	reg := registry.New(registry.WithSource(registryTestSource), registry.WithGrace(0), registry.WithStackCapture(false))
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	for _, err := range []error{
		reg.RegisterComponent("main_window", registry.WithType("window")),
		reg.RegisterComponent("media_tab", registry.WithType("tab"), registry.WithParent("main_window")),
		reg.OnCleanup("media_tab", "MediaTab.flush", 0, 1200*time.Millisecond, func(context.Context) error {
			<-hang // ignores its context: given up on at its timeout
			return nil
		}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := serveReg(t, reg, registry.WithAddress("unix://"+shortTempDir(t)+"/app.sock"), registry.WithoutDiscovery(),
		registry.WithCleanupEndpoint(), registry.WithProgressInterval(20*time.Millisecond))

	r := attachCLI(t).run("cleanup", "--attach", srv.Address(), "--component", "media_tab", "--yes")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 (a step timed out)\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	wantContains(t, "output", r.Stdout,
		"…   1. callback  c-1  running for 1",
		" of its 1.2s · step 1 of 2 · waiting on it: 2. component media_tab",
		"⏱   1. callback  c-1  timed out",
		"waited on by 2. component media_tab, which went on without it",
		"2 steps: 1 done, 0 failed, 1 timed out",
	)
	if n := strings.Count(r.Stdout, "running for"); n != 1 {
		t.Errorf("%d progress lines for a step of 1.2s, want 1 (then one every 5s):\n%s", n, r.Stdout)
	}
}

// TestWatch_ShowsTheCleanupInProgressAndWhatTheLastLeft: watch on a
// process that is cleaning up names the step running and what waits on
// it; after a cleanup that timed out, it names what was left undone.
func TestWatch_ShowsTheCleanupInProgressAndWhatTheLastLeft(t *testing.T) {
	target, reg := liveApp(t, true)
	started, release := make(chan struct{}), make(chan struct{})
	if err := reg.OnCleanup("main_window", "MainWindow.save", 0, time.Minute, func(context.Context) error {
		close(started)
		<-release
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := attachCLI(t)
	c.sleep = func(context.Context, time.Duration) error { return nil }
	cleaned := make(chan result, 1)
	go func() { cleaned <- c.run("cleanup", "--attach", target, "--component", "main_window", "--yes") }()
	<-started
	r := c.run("watch", "--attach", target, "--count", "1")
	wantContains(t, "watch during the cleanup", r.Stdout,
		"cleaning up main_window · ",
		"  running ",
		"callback c-1 for ",
		" of its 1m",
		"  waiting on it: ",
		"component main_window",
	)
	close(release)
	if res := <-cleaned; res.Code != 1 {
		t.Fatalf("cleanup exit %d, want 1 (the stubborn worker timed out):\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	r = c.run("watch", "--attach", target, "--count", "1")
	if strings.Contains(r.Stdout, "cleaning up") || !strings.Contains(r.Stdout, "last cleanup of main_window: 1 of ") || !strings.Contains(r.Stdout, "steps unfinished (") || !strings.Contains(r.Stdout, " timed out)") {
		t.Errorf("watch after the cleanup:\n%s", r.Stdout)
	}
}

// TestWatch_FlagsGrowthAsItHappens: a group that grows at every refresh
// is flagged "growing" and shown first; ids sort as people read them.
func TestWatch_FlagsGrowthAsItHappens(t *testing.T) {
	reg := registry.New(registry.WithSource(registryTestSource), registry.WithStackCapture(false))
	for _, id := range []string{"media_tab_10", "media_tab_2"} {
		if err := reg.RegisterComponent(id, registry.WithType("tab")); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Track(id, nil, registry.WithType("file"), registry.WithSize(1)); err != nil {
			t.Fatal(err)
		}
	}
	srv := serveReg(t, reg, registry.WithAddress("unix://"+shortTempDir(t)+"/app.sock"), registry.WithoutDiscovery())
	c := attachCLI(t)
	// Between refreshes media_tab_10 leaks one more timer.
	c.sleep = func(context.Context, time.Duration) error {
		_, err := reg.Track("media_tab_10", nil, registry.WithType("timer"))
		return err
	}
	r := c.run("watch", "--attach", srv.Address(), "--count", "4")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	frames := strings.Split(r.Stdout, "rescoord watch")
	last := frames[len(frames)-1]
	wantContains(t, "the last frame", last, "LAST 4 REFRESHES", "media_tab_10  timer  3     ↑↑↑ +3 growing")
	if strings.Contains(frames[2], "growing") {
		t.Errorf("growth flagged after two refreshes:\n%s", frames[2])
	}
	if i, j := strings.Index(last, "media_tab_2 "), strings.Index(last, "media_tab_10  file"); i < 0 || j < 0 || i > j {
		t.Errorf("media_tab_2 does not come before media_tab_10 among equals:\n%s", last)
	}
}
