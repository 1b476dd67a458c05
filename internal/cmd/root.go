package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rescoord/rescoord/internal/human"
	"github.com/rescoord/rescoord/internal/render"
	"github.com/rescoord/rescoord/pkg/snapshot"
)

// Main runs rescoord with the process's arguments and returns its exit code.
// demo is the snapshot built into the binary.
//
// SIGINT and SIGTERM cancel the command's context; a command that has not
// returned a second later is ended with exit code 130 (SIGINT) or 143
// (SIGTERM), and so is any command at a second signal (docs/security.md).
func Main(demo []byte) int {
	f := NewFactory(demo)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	w := &signalWatch{sigs: sigs, cancel: cancel, errOut: f.IO.ErrOut, grace: interruptGrace, after: time.After, exit: os.Exit}
	go w.run()
	return RunContext(ctx, f, os.Args[1:])
}

// interruptGrace is how long a command may take to return after a signal.
const interruptGrace = time.Second

// signalWatch cancels the command at the first signal and ends the process
// when the command has not returned within grace, or at a second signal.
type signalWatch struct {
	sigs   <-chan os.Signal
	cancel context.CancelCauseFunc
	errOut io.Writer
	grace  time.Duration
	after  func(time.Duration) <-chan time.Time
	exit   func(int)
}

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

// code is the exit code that reports the signal: 128 + its number.
func (e *interrupted) code() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

func (w *signalWatch) run() {
	sig, ok := <-w.sigs
	if !ok {
		return
	}
	cause := &interrupted{sig: sig}
	w.cancel(cause)
	select {
	case <-w.after(w.grace):
	case <-w.sigs:
	}
	fmt.Fprintf(w.errOut, "rescoord: %s\n", cause.Error())
	w.exit(cause.code())
}

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// Run runs rescoord with args against f and returns the exit code; errors
// are printed to f.IO.ErrOut as "rescoord: <message>".
func Run(f *Factory, args []string) int {
	return RunContext(context.Background(), f, args)
}

// RunContext is Run with a context that interrupts long-running commands
// (record, watch, a real cleanup).
func RunContext(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var in *interrupted
	if err != nil && errors.As(context.Cause(ctx), &in) {
		// Cut short by a signal: say that, not what the cancellation broke.
		err = &exitError{code: in.code(), err: in}
	}
	if err != nil {
		printError(f.IO.ErrOut, err)
	}
	return exitCode(err)
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "rescoord",
		Short: "Inspect the resource registries of long-running applications",
		Long: `rescoord reads a snapshot of an application's resource registry — its
components (windows, tabs, controllers, plugins) and the resources they own
(workers, threads, timers, files, sockets, GUI objects, memory, pools) — and
shows what is tracked, the order in which cleanup releases it, and what leaks.

Every command reads its snapshot the same way: a file path (.gz is read
transparently), - for standard input, --demo for the built-in sample, or
--attach TARGET for a live process.`,
		Example: `  rescoord leaks --demo
  rescoord list --demo --tree
  rescoord cleanup --dry-run snapshot.json
  rescoord leaks -o text -o sarif=leaks.sarif snapshot.json`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitError, err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	enumFlag(root, root.PersistentFlags(), &f.ColorMode, "color", "auto", []string{"auto", "always", "never"}, "colour output (auto honours NO_COLOR and a non-terminal output)")
	root.PersistentFlags().StringVar(&f.ConfigPath, "config", "", "the project config: defaults for the commands' flags (default: "+DefaultConfigFile+" in the working directory, when there is one)")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		// The project config gives defaults to the flags the command line
		// does not set (docs/ci.md, "Project config").
		data, name, err := readProjectFile(f, f.ConfigPath, DefaultConfigFile, maxConfigBytes, "config file", "no config applies")
		if err != nil {
			return err
		}
		if data != nil {
			if f.config, err = parseConfig(data, name, c.Root()); err != nil {
				return usageError("invalid config: %v", err)
			}
			if err := f.config.apply(c); err != nil {
				return err
			}
		}
		return nil // --color is checked when it is parsed (enumFlag)
	}

	root.AddCommand(
		NewCmdList(f, nil),
		NewCmdValidate(f, nil),
		NewCmdStats(f, nil),
		NewCmdPs(f, nil),
		NewCmdRecord(f, nil),
		NewCmdWatch(f, nil),
		NewCmdLeaks(f, nil),
		NewCmdCleanup(f, nil),
		NewCmdGraph(f, nil),
		NewCmdAttachCheck(f, nil),
		NewCmdImport(f, nil),
		NewCmdConfig(f, nil),
		NewCmdMetrics(f, nil),
	)
	// --attach completes, on every command that takes it, what
	// rescoord ps lists.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("attach") != nil {
			if _, ok := c.GetFlagCompletionFunc("attach"); !ok {
				_ = c.RegisterFlagCompletionFunc("attach", completeAttach(f))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// cobra's completion command prints its help for any argument, and
	// exits 0: an unknown shell is a usage error instead.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					return usageError("unknown shell %q for completion: want bash, zsh, fish or powershell", args[0])
				}
				return c.Help()
			}
		}
	}
	return root
}

// version is the module version from the build info, with the VCS revision
// when the binary was built from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" && v == "(devel)" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + dirty
	}
	return v + " " + info.GoVersion
}

// maxShownErrors is how many input errors a command other than validate prints.
const maxShownErrors = 5

func printError(w io.Writer, err error) {
	var ee *exitError
	if errors.As(err, &ee) && ee.silent {
		return
	}
	var list *snapshot.Errors
	if errors.As(err, &list) {
		fmt.Fprintf(w, "rescoord: invalid snapshot: %d %s\n", list.Total(), human.Plural(list.Total(), "error", "errors"))
		for i, e := range list.List {
			if i == maxShownErrors {
				fmt.Fprintf(w, "  … and %d more (rescoord validate lists them all)\n", list.Total()-maxShownErrors)
				break
			}
			fmt.Fprintf(w, "  %s\n", render.Escape(e.Error()))
		}
		return
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "rescoord: ")
	// Our own messages may span lines (a list of errors); what they quote
	// from the input is escaped where it is quoted, and every line here.
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		lines[i] = render.Escape(l)
	}
	fmt.Fprintf(w, "rescoord: %s\n", strings.Join(lines, "\n"))
}

// runner is the RunE of a command: it keeps its arguments in *args (when
// args is not nil), then runs run with the command's context (Ctrl-C),
// or, in tests, runF with the options the flags filled.
func runner[O any](f *Factory, opts *O, args *[]string, runF func(*O) error, run func(context.Context, *Factory, *O) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, a []string) error {
		if args != nil {
			*args = a
		}
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), f, opts)
	}
}
