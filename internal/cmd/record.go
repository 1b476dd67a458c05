package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/atomicfile"
	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
)

// RecordOptions are the flags of `rescoord record`.
type RecordOptions struct {
	Attach string
	AttachOptions
	Every time.Duration
	Count int
	Out   string
	// Force replaces a series an earlier run left in Out.
	Force bool
}

// NewCmdRecord builds `rescoord record`. A non-nil runF replaces the run, for tests.
func NewCmdRecord(f *Factory, runF func(*RecordOptions) error) *cobra.Command {
	opts := &RecordOptions{}
	c := &cobra.Command{
		Use:   "record --attach TARGET",
		Short: "Save a series of snapshots from a live process, for the growth check of leaks",
		Long: `record fetches a snapshot from a live process every --every, --count times,
and saves them in --out as snapshot-0001.json, snapshot-0002.json, … — ready
for the three-snapshot growth check:

  rescoord leaks DIR/snapshot-*.json

--out is created 0700 when missing, and each snapshot is written 0600 (they
hold names, paths and stacks), atomically: a temporary file renamed into
place. A directory that already holds snapshot-*.json files is refused, so
that two runs never mix in one series; --force removes those files once the
first snapshot has arrived. A symbolic link as --out is refused; one at a
snapshot's name is never written through.`,
		Example: `  rescoord record --attach mediaapp --every 2s --count 5 --out snaps
  rescoord leaks snaps/snapshot-*.json`,
		Args: cobra.NoArgs,
		RunE: runner(f, opts, nil, runF, runRecord),
	}
	opts.AttachOptions.addTargetFlags(c, &opts.Attach)
	c.Flags().DurationVar(&opts.Every, "every", 2*time.Second, "interval between snapshots")
	c.Flags().IntVar(&opts.Count, "count", 5, "how many snapshots to save")
	c.Flags().StringVar(&opts.Out, "out", "snapshots", "directory to save them in (created 0700 if needed)")
	c.Flags().BoolVar(&opts.Force, "force", false, "remove the snapshot-*.json files an earlier run left in --out")
	return c
}

func runRecord(ctx context.Context, f *Factory, opts *RecordOptions) error {
	if err := cmp.Or(needTarget("record", opts.Attach), positive("--every", opts.Every)); err != nil {
		return err
	}
	if opts.Count < 1 {
		return usageError("invalid --count %d: want 1 or more", opts.Count)
	}
	client, err := opts.source(f, opts.Attach)
	if err != nil {
		return err
	}
	defer client.Close()
	old, shared, err := prepareOut(opts.Out, opts.Force)
	if err != nil {
		return err
	}
	if shared {
		warnf(f, "--out %s is writable by other users and not sticky: they can replace the snapshots saved there", opts.Out)
	}
	for i := 1; i <= opts.Count; i++ {
		if i > 1 {
			if err := f.sleep(ctx, opts.Every); err != nil {
				fmt.Fprintf(f.IO.ErrOut, "interrupted after %d %s\n", i-1, human.Plural(i-1, "snapshot", "snapshots"))
				return nil
			}
		}
		s, err := client.Snapshot(ctx)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		if i == 1 {
			// --force: the old series goes only once a new one can start.
			for _, p := range old {
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return &exitError{code: ExitError, err: fmt.Errorf("--force: cannot remove %s: %w", p, err)}
				}
			}
		}
		path := filepath.Join(opts.Out, fmt.Sprintf("snapshot-%04d.json", i))
		if err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
			_, err := w.Write(append(s.AppendJSON(nil), '\n'))
			return err
		}); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("saving %s: %w", render.Escape(path), unwrapPath(err, path))}
		}
		live, bytes := 0, int64(0)
		for k := range s.Resources {
			if s.Resources[k].Live() {
				live++
				bytes += s.Resources[k].SizeBytes
			}
		}
		fmt.Fprintf(f.IO.Out, "%s  %s, %d live, %s\n", render.Escape(path), human.Count(len(s.Resources), "resource", "resources"), live, render.Bytes(bytes))
	}
	return nil
}

// seriesGlob matches the files of a recorded series.
const seriesGlob = "snapshot-*.json"

// prepareOut makes sure dir can take a new series: it creates it 0700 when
// missing (its parents as mkdir -p would), refuses a symbolic link or a
// non-directory, and refuses a directory holding snapshot-*.json files
// unless force, when it returns them for removal. shared is set for an
// existing directory other users can write to without the sticky bit.
func prepareOut(dir string, force bool) (old []string, shared bool, err error) {
	fail := func(err error) ([]string, bool, error) {
		return nil, false, &exitError{code: ExitError, err: fmt.Errorf("--out: %w", err)}
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return fail(err)
		}
		if err := os.Mkdir(dir, 0o700); err == nil {
			// Exactly 0700 whatever the umask: the directory is ours.
			if err := os.Chmod(dir, 0o700); err != nil {
				return fail(err)
			}
			return nil, false, nil
		} else if !errors.Is(err, fs.ErrExist) {
			return fail(err)
		}
		fi, err = os.Lstat(dir) // created meanwhile: check it as any existing one
	}
	if err != nil {
		return fail(err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, false, usageError("--out %s is a symbolic link: give the directory itself", render.Escape(dir))
	case !fi.IsDir():
		return nil, false, usageError("--out %s is not a directory", render.Escape(dir))
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fail(err)
	}
	for _, de := range des {
		if ok, _ := filepath.Match(seriesGlob, de.Name()); ok {
			old = append(old, filepath.Join(dir, de.Name()))
		}
	}
	if len(old) > 0 && !force {
		return nil, false, usageError("--out %s already holds a series (%d %s, %s…): use another directory, or --force to replace it",
			render.Escape(dir), len(old), human.Plural(len(old), "file", "files"), render.Escape(filepath.Base(old[0])))
	}
	return old, fi.Mode()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0, nil
}
