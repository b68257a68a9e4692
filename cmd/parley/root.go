package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/parley-chat/parley/internal/app"
)

// streams are the command's standard input and outputs, passed in so that
// tests can drive the CLI.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

func newRootCommand(in io.Reader, out, errOut io.Writer) *cobra.Command {
	s := streams{in: in, out: out, err: errOut}
	root := &cobra.Command{
		Use:           "parley",
		Short:         "Parley: a messenger, video calls, a help desk and an expert marketplace in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(
		newServeCommand(s),
		newMigrateCommand(s),
		newUserCommand(s),
		newTokenCommand(s),
		newBotCommand(s),
		newDemoCommand(s),
		newBenchCommand(s),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(s.out, "parley", version) },
		},
	)
	return root
}

// storageFlags are the flags every command that opens the database shares.
type storageFlags struct {
	dataDir string
	db      string
}

func (f *storageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "parley-data", "folder for the SQLite database and uploaded files")
	fs.StringVar(&f.db, "db", "", "PostgreSQL URL (postgres://user@host/db); empty uses SQLite in --data-dir")
}

func (f *storageFlags) config() app.Config {
	return app.Config{DataDir: f.dataDir, DB: f.db, Version: version}
}

// bindEnv lets every flag also come from PARLEY_<FLAG_NAME> (dashes become
// underscores); a flag given on the command line wins. It runs before the
// command, so a bad value fails like a bad flag.
func bindEnv(cmd *cobra.Command) error {
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || firstErr != nil || f.Name == "help" {
			return
		}
		env := "PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		// An empty variable counts as unset, as most tools treat it.
		if v := os.Getenv(env); v != "" {
			if err := cmd.Flags().Set(f.Name, v); err != nil {
				firstErr = fmt.Errorf("%s: %w", env, err)
			}
		}
	})
	return firstErr
}

// envUsage adds the environment variable to each flag's help line.
func envUsage(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			f.Usage += " (env PARLEY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")) + ")"
		}
	})
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}
