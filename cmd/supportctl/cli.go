package main

// The command line: every command is a *command with its flags on the standard library's flag
// package, and one help format for all of them (flags with their defaults, the environment, an
// example). Help never reads the environment; every flag is checked before any variable is read,
// and every variable before any network or AWS call.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Exit codes, as the top-level help documents them.
const (
	exitOK     = 0 // done
	exitFailed = 1 // refused (by the API, IAM, …) or failed on the way
	exitUsage  = 2 // the command line or the environment is wrong; nothing was called
)

// usageError is a command line or an environment supportctl cannot act on: an unknown command, a
// flag that is not defined, missing or invalid, a variable that is not set or not valid. It is found
// before any call; supportctl exits with exitUsage.
type usageError struct {
	err  error
	help string // where to read more: "supportctl broker request -h"
}

func (e *usageError) Error() string {
	if e.help == "" {
		return e.err.Error()
	}
	return e.err.Error() + " (see " + e.help + ")"
}

func (e *usageError) Unwrap() error { return e.err }

// exitCode maps what run returned to the process's exit code.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	}
	return exitFailed
}

// errHelp is a request for help (-h, -help, --help, help), answered on stdout with exit code 0.
var errHelp = errors.New("help requested")

// invocation is one run of supportctl: its environment, and where it writes.
type invocation struct {
	getenv func(string) string
	out    io.Writer // results: JSON, tab-separated lines, links; what a script reads
	errOut io.Writer // notes for the person at the terminal, such as "no requests matched"
}

// note tells the person something on stderr, leaving stdout to the results.
func (x *invocation) note(format string, args ...any) {
	_, _ = fmt.Fprintf(x.errOut, "supportctl: "+format+"\n", args...)
}

// action is what a command does once its flags are parsed and checked.
type action func(ctx context.Context, x *invocation) error

// command is one supportctl command, or a group of them (broker, issuer, the top level).
type command struct {
	name     string   // the words after "supportctl": "broker request"
	synopsis string   // the flags in brief: "-account A -ticket T -justification J [-duration D]"
	section  string   // the heading it is listed under in its group's help
	summary  string   // one line, for its group's list of commands
	about    string   // what it does and prints, for its own help ("": the summary)
	env      []envVar // the environment it reads
	more     string   // sections after the flags or commands ("exit codes: …")
	examples []string
	subs     []*command // a group's commands; nil for a command
	// flags defines the command's flags on f and returns what to run once they are parsed. It must
	// not read the environment: help calls it to list the flags.
	flags func(f *flagSet) action
}

// path is how the command is typed: "supportctl broker request".
func (c *command) path() string { return strings.TrimSpace("supportctl " + c.name) }

// run runs the command, or the group's command args name.
func (c *command) run(ctx context.Context, args []string, x *invocation) error {
	if c.subs != nil {
		return c.dispatch(ctx, args, x)
	}
	f := newFlagSet(c)
	act := c.flags(f)
	switch err := f.parse(args); {
	case errors.Is(err, errHelp):
		return c.help(x.out)
	case err != nil:
		return err
	}
	return act(ctx, x)
}

// dispatch runs the group's command that args[0] names, or answers help.
func (c *command) dispatch(ctx context.Context, args []string, x *invocation) error {
	if len(args) == 0 {
		_ = c.help(x.errOut)
		return &usageError{err: errors.New(strings.TrimPrefix(c.name+": which command? (see the list above)", ": "))}
	}
	if isHelp(args[0]) {
		target, err := c.lookup(args[1:])
		if err != nil {
			return err
		}
		return target.help(x.out)
	}
	sub := c.sub(args[0])
	if sub == nil {
		return c.unknown(args[0])
	}
	return sub.run(ctx, args[1:], x)
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// lookup finds the command words name under c ("broker", "request"): what "help <words>" shows.
func (c *command) lookup(words []string) (*command, error) {
	for _, w := range words {
		if c.subs == nil {
			return nil, &usageError{err: fmt.Errorf("%s has no commands of its own, so no help for %q", c.path(), w), help: c.path() + " -h"}
		}
		sub := c.sub(w)
		if sub == nil {
			return nil, c.unknown(w)
		}
		c = sub
	}
	return c, nil
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == strings.TrimSpace(c.name+" "+name) {
			return s
		}
	}
	return nil
}

// unknown is the usage error for a command c does not have, with the nearest one it has.
func (c *command) unknown(name string) error {
	if strings.HasPrefix(name, "-") {
		// main prefixes "supportctl: "; a group names itself ("broker: …")
		where := ""
		if c.name != "" {
			where = c.name + ": "
		}
		return &usageError{err: fmt.Errorf("%sthe command comes before its flags, as in %s <command> %s …", where, c.path(), name),
			help: c.path() + " help"}
	}
	msg := fmt.Sprintf("unknown command %q", strings.TrimSpace(c.name+" "+name))
	best, bestDist := "", 3
	for _, s := range c.subs {
		short := s.name[strings.LastIndex(s.name, " ")+1:]
		if d := editDistance(name, short); d < bestDist || (d == bestDist && strings.HasPrefix(short, name)) {
			best, bestDist = short, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf("; did you mean %q?", best)
	}
	return &usageError{err: errors.New(msg), help: c.path() + " help"}
}

// editDistance is the Levenshtein distance between a and b, for suggesting a command.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// help writes the command's help: usage, what it does, its commands or its flags with their
// defaults, the environment it reads, examples.
func (c *command) help(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s %s\n", c.path(), c.synopsis)
	if about := c.about; about != "" {
		fmt.Fprintf(&b, "\n%s\n", about)
	} else if c.summary != "" {
		fmt.Fprintf(&b, "\n%s.\n", strings.ToUpper(c.summary[:1])+c.summary[1:])
	}
	if c.subs != nil {
		c.writeCommands(&b)
	} else {
		f := newFlagSet(c)
		c.flags(f)
		f.writeFlags(&b)
	}
	if c.more != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.more))
	}
	if len(c.env) > 0 {
		b.WriteString("\nenvironment:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, v := range c.env {
			fmt.Fprintf(tw, "  %s\t%s\n", v.name, v.about)
		}
		_ = tw.Flush()
	}
	if len(c.examples) > 0 {
		heading := "example"
		if len(c.examples) > 1 {
			heading = "examples"
		}
		fmt.Fprintf(&b, "\n%s:\n", heading)
		for _, e := range c.examples {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCommands lists a group's commands under their sections.
func (c *command) writeCommands(b *strings.Builder) {
	var sections []string
	for _, s := range c.subs {
		if !slices.Contains(sections, s.section) {
			sections = append(sections, s.section)
		}
	}
	for _, section := range sections {
		fmt.Fprintf(b, "\n%s:\n", section)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		for _, s := range c.subs {
			if s.section == section {
				fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(s.name[len(c.name):]), s.summary)
			}
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(b, "\n%s help <command> (or %s <command> -h) shows a command's flags, environment and an example.\n", c.path(), c.path())
}

// flagSet is a command's flags: the standard library's, with what the help and the checks need.
type flagSet struct {
	fs       *flag.FlagSet
	cmd      *command
	order    []string          // the flags in the order they are defined, as the help lists them
	meta     map[string]string // what the help shows a flag's value as: "A", "D"
	required []string
	checks   []func() error // checks across flags, once all are parsed
	bad      error          // what the last value that refused its text said
}

func newFlagSet(c *command) *flagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // help and errors are ours
	fs.Usage = func() {}
	return &flagSet{fs: fs, cmd: c, meta: map[string]string{}}
}

// usage is err as a usage error of the command.
func (f *flagSet) usage(err error) error {
	return &usageError{err: fmt.Errorf("%s: %w", f.cmd.name, err), help: f.cmd.path() + " -h"}
}

// parse reads args into the flags, then checks that the required ones are there and runs the checks
// across flags. It returns errHelp for -h, -help, --help or a lone "help", and a *usageError for
// anything it cannot take.
func (f *flagSet) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		if f.bad != nil {
			err = f.bad
		}
		return f.usage(err)
	}
	if rest := f.fs.Args(); len(rest) > 0 {
		if len(rest) == 1 && rest[0] == "help" {
			return errHelp
		}
		if len(f.order) == 0 {
			return f.usage(fmt.Errorf("unexpected argument %s: %s takes no arguments", shown(rest[0]), f.cmd.path()))
		}
		return f.usage(fmt.Errorf("unexpected argument %s: %s takes flags only, each value after its flag", shown(rest[0]), f.cmd.path()))
	}
	var missing []string
	for _, name := range f.required {
		if f.fs.Lookup(name).Value.String() == "" {
			missing = append(missing, "-"+name)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return f.usage(fmt.Errorf("%s is required", missing[0]))
	default:
		return f.usage(fmt.Errorf("%s and %s are required", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1]))
	}
	for _, check := range f.checks {
		if err := check(); err != nil {
			return f.usage(err)
		}
	}
	return nil
}

// check adds a check across flags, run once all are parsed and present.
func (f *flagSet) check(fn func() error) { f.checks = append(f.checks, fn) }

// writeFlags lists the flags: value placeholder, what it is, whether it is required, its default.
func (f *flagSet) writeFlags(b *strings.Builder) {
	if len(f.order) == 0 {
		b.WriteString("\nflags: none\n")
		return
	}
	b.WriteString("\nflags:\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, name := range f.order {
		fl := f.fs.Lookup(name)
		usage := fl.Usage
		switch {
		case slices.Contains(f.required, name):
			usage += " (required)"
		case fl.DefValue != "" && fl.DefValue != "false":
			usage += " (default " + fl.DefValue + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace("-"+name+" "+f.meta[name]), usage)
	}
	_ = tw.Flush()
}

// value is a flag whose text is checked as it is set: parse takes the text, or says what the flag
// takes ("give a duration such as 30m or 1h").
type value struct {
	f     *flagSet
	name  string
	text  string
	parse func(string) error
}

func (v *value) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *value) Set(s string) error {
	if err := v.parse(s); err != nil {
		v.f.bad = fmt.Errorf("-%s %s: %w", v.name, shown(s), err)
		return v.f.bad
	}
	v.text = s
	return nil
}

// shown is s as a message shows a value: as typed, quoted when it needs quoting (or is empty).
func shown(s string) string {
	if s == "" {
		return `""`
	}
	return shellQuote(s)
}

// define adds a flag: meta is what the help shows its value as, def its default text (already valid).
func (f *flagSet) define(name, meta, def, usage string, required bool, parse func(string) error) {
	if def != "" {
		if err := parse(def); err != nil {
			panic(fmt.Sprintf("flag -%s: default %q: %v", name, def, err))
		}
	}
	f.fs.Var(&value{f: f, name: name, text: def, parse: parse}, name, usage)
	f.fs.Lookup(name).DefValue = def
	f.order = append(f.order, name)
	f.meta[name] = meta
	if required {
		f.required = append(f.required, name)
	}
}

// required and optional, for the flag definitions' last argument.
const (
	required = true
	optional = false
)

// text is a flag of free text; check, if not nil, says what is wrong with a value.
func (f *flagSet) text(name, meta, usage string, req bool, check func(string) error) *string {
	p := f.textDefault(name, meta, "", usage, check)
	if req {
		f.required = append(f.required, name)
	}
	return p
}

// textDefault is a text flag with a default.
func (f *flagSet) textDefault(name, meta, def, usage string, check func(string) error) *string {
	p := new(string)
	f.define(name, meta, def, usage, false, func(s string) error {
		if check != nil && s != "" {
			if err := check(s); err != nil {
				return err
			}
		}
		*p = s
		return nil
	})
	return p
}

var twelveDigits = regexp.MustCompile(`^[0-9]{12}$`)

// checkAccountID says why s is not an AWS account ID.
func checkAccountID(s string) error {
	if !twelveDigits.MatchString(s) {
		return errors.New("give a 12-digit AWS account ID, such as 111122223333")
	}
	return nil
}

// account is a flag naming an AWS account: 12 digits.
func (f *flagSet) account(name, usage string, req bool) *string {
	return f.text(name, "A", usage, req, checkAccountID)
}

// duration is a flag of a duration; check, if not nil, bounds it.
func (f *flagSet) duration(name string, def time.Duration, usage string, check func(time.Duration) error) *time.Duration {
	p := new(time.Duration)
	f.define(name, "D", formatDuration(def), usage, optional, func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("give a duration such as 30m or 1h")
		}
		if check != nil {
			if err := check(d); err != nil {
				return err
			}
		}
		*p = d
		return nil
	})
	return p
}

// formatDuration writes d as a person would: 1h, 30m, 1h30m, 90s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// enum is a flag that takes one of allowed, in any case; it holds the value as allowed spells it.
func (f *flagSet) enum(name, meta, def string, allowed []string, usage string) *string {
	p := new(string)
	f.define(name, meta, def, usage+": "+orList(allowed), optional, func(s string) error {
		for _, a := range allowed {
			if strings.EqualFold(s, a) {
				*p = a
				return nil
			}
		}
		return fmt.Errorf("give one of %s", orList(allowed))
	})
	return p
}

// orList is "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// timestamp is a flag of a time in RFC 3339; it holds the text as given.
func (f *flagSet) timestamp(name, usage string) (*string, *time.Time) {
	p, t := new(string), new(time.Time)
	f.define(name, "T", "", usage+" (RFC 3339, e.g. 2026-11-29T17:00:00Z)", optional, func(s string) error {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return errors.New("give a time in RFC 3339, e.g. 2026-11-29T17:00:00Z or 2026-11-29T18:00:00+01:00")
		}
		*p, *t = s, v
		return nil
	})
	return p, t
}

// count is a flag of a whole number, 1 or more.
func (f *flagSet) count(name, meta string, def int, usage string) *int {
	p := new(int)
	f.define(name, meta, strconv.Itoa(def), usage, optional, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errors.New("give a whole number, 1 or more")
		}
		*p = n
		return nil
	})
	return p
}

// boolean is a flag that is off unless given.
func (f *flagSet) boolean(name, usage string) *bool {
	p := new(bool)
	f.fs.BoolVar(p, name, false, usage)
	f.order = append(f.order, name)
	return p
}
