//go:build unix

package registry_test

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/rescoord/rescoord/pkg/registry"
)

func TestRelease_ProcessIsTerminatedThenKilled(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	r, _ := newReg(t, []string{"app"})
	ctx := context.Background()

	polite := exec.Command("sleep", "30")
	if err := polite.Start(); err != nil {
		t.Skip(err)
	}
	h := mustTrack(t, r, "app", polite.Process, registry.WithName("sleep"))
	if err := h.Release(ctx); err != nil {
		t.Errorf("a process that exits on SIGTERM: %v", err)
	}

	stubborn := exec.Command("sh", "-c", `trap "" TERM; echo ready; exec sleep 30`)
	out, err := stubborn.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := stubborn.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	h = mustTrack(t, r, "app", stubborn.Process, registry.WithName("stubborn"), registry.WithTimeout(50*time.Millisecond))
	err = h.Release(ctx)
	if !errors.Is(err, registry.ErrKilled) {
		t.Fatalf("err = %v, want the kill reported", err)
	}
	if want := `resource r-2 (process "stubborn" of app): did not exit in time and was killed (context deadline exceeded)`; err.Error() != want {
		t.Errorf("err:\n  %v\nwant\n  %s", err, want)
	}
	if err := stubborn.Process.Signal(nil); err == nil {
		t.Error("the process is still there")
	}
}
