// Command demo tells the support-access gateway's whole story on this machine, through the
// product's own code: the vendor invites a customer, the customer's management-role stack registers
// the account, an engineer asks for access, the customer approves, the engineer's session is the
// support role's, the customer reads the audit and deletes the stack, and nothing of the vendor's
// is left; then a StackSet registers every account of an organization. AWS is played by moto
// behind a checking front end (package test/sim), the hook is the real Lambda binary, sign-in is
// the local OpenID Provider, and the API is supportd's handler. Each step says what happens and how
// long it took; the first failure stops the demo, naming the step (make demo).
//
// With -up it runs the same backend with one registered account until interrupted, and prints
// what to sign in as and the settings for supportctl (make up).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/test/docs"
)

const usage = `usage: demo [-up] [flags]

  (no -up)   play the whole story and exit: 0 when every step passed (make demo)
  -up        run the backend with a registered demo account until Ctrl-C (make up)

flags:`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	interrupted := ctx.Err() != nil
	stop()
	var usage *usageError
	switch {
	case err == nil:
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	case interrupted:
		fmt.Fprintln(os.Stderr, "demo: interrupted:", err)
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// usageError is a command line the demo cannot run: exit status 2, as supportctl's.
type usageError struct{ error }

func (e *usageError) Unwrap() error { return e.error }

// options are the command line's.
type options struct {
	up               bool
	root, usersFile  string
	accounts         int
	apiAddr, opAddr  string
	keepLogs         bool
	hookBinary, logs string
}

func run(ctx context.Context, args []string, out io.Writer) (err error) {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags.Usage = func() { fmt.Fprintln(flags.Output(), usage); flags.PrintDefaults() }
	var o options
	flags.BoolVar(&o.up, "up", false, "run the backend until interrupted instead of playing the story")
	flags.StringVar(&o.root, "root", "", "the repository's root (default: found from the working directory)")
	flags.StringVar(&o.usersFile, "users", "internal/auth/localop/testdata/users.yaml", "the local OpenID Provider's users (a relative path is under -root)")
	flags.IntVar(&o.accounts, "accounts", 3, "member accounts of the simulated organization")
	flags.StringVar(&o.apiAddr, "api-addr", "", "where the API listens (default: any free port; with -up 127.0.0.1:8080)")
	flags.StringVar(&o.opAddr, "op-addr", "", "where the OpenID Provider listens (default: any free port; with -up 127.0.0.1:9998)")
	flags.StringVar(&o.hookBinary, "hook", "", "a hook bootstrap already built for this machine (default: build lambdas/hook)")
	flags.BoolVar(&o.keepLogs, "keep-logs", false, "keep the hook's and the API's logs even when every step passed")
	if err := flags.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return &usageError{err}
	}
	if flags.NArg() > 0 {
		flags.Usage()
		return &usageError{fmt.Errorf("unexpected %q: the demo takes flags only", flags.Arg(0))}
	}
	if o.accounts < 1 {
		return &usageError{fmt.Errorf("-accounts %d: the organization needs 1 member account or more", o.accounts)}
	}
	if o.root == "" {
		if o.root, err = findRoot(); err != nil {
			return err
		}
	}
	if o.apiAddr == "" {
		o.apiAddr = map[bool]string{true: "127.0.0.1:8080", false: "127.0.0.1:0"}[o.up]
	}
	if o.opAddr == "" {
		o.opAddr = map[bool]string{true: "127.0.0.1:9998", false: "127.0.0.1:0"}[o.up]
	}
	// fixed ports first, before anything starts: another make up holds them, most likely
	for _, a := range []struct{ flag, addr string }{{"-api-addr", o.apiAddr}, {"-op-addr", o.opAddr}} {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			return fmt.Errorf("%s %s: %w (another make up? stop it, or choose other ports: "+
				`make up DEMO_FLAGS="-api-addr 127.0.0.1:18080 -op-addr 127.0.0.1:19998")`, a.flag, a.addr, err)
		}
		_ = ln.Close()
	}
	usersPath := o.usersFile
	if !filepath.IsAbs(usersPath) {
		usersPath = filepath.Join(o.root, usersPath)
	}
	users, err := localop.LoadUsers(usersPath)
	if err != nil {
		return err
	}

	// the hook's and the API's logs go to files: the story stays readable, and a failure points at them
	if o.logs, err = os.MkdirTemp("", "supportaccess-demo-"); err != nil {
		return err
	}
	hookLog, err := os.Create(filepath.Join(o.logs, "hook.log"))
	if err != nil {
		return err
	}
	apiLog, err := os.Create(filepath.Join(o.logs, "api.log"))
	if err != nil {
		return err
	}
	defer func() {
		_, _ = hookLog.Close(), apiLog.Close()
		if ctx.Err() != nil && !o.keepLogs { // interrupted: nothing to look into
			_ = os.RemoveAll(o.logs)
			return
		}
		if err != nil || o.keepLogs {
			fmt.Fprintf(out, "\nlogs: %s (hook.log: the hook Lambda, api.log: the API and sign-in)\n", o.logs)
			if tail := lastLines(filepath.Join(o.logs, "hook.log"), 12); err != nil && tail != "" {
				fmt.Fprintf(out, "the hook's last lines:\n%s\n", tail)
			}
			return
		}
		_ = os.RemoveAll(o.logs)
	}()
	log := slog.New(slog.NewJSONHandler(apiLog, nil))

	d := &demo{story: story{out: out, interrupted: func() bool { return ctx.Err() != nil }}, opts: o, users: users, log: log, hookLog: hookLog}
	defer func() { err = errors.Join(err, d.close()) }()
	if o.up {
		return d.up(ctx)
	}
	return d.play(ctx)
}

// findRoot is the repository's root (docs.Root), or why the demo cannot find it.
func findRoot() (string, error) {
	root, err := docs.Root()
	if err != nil {
		return "", fmt.Errorf("%w; pass -root", err)
	}
	return root, nil
}

// lastLines is the end of a file, at most n lines.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
