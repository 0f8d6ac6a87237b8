package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// story narrates numbered steps, times each, and sums them up at the end.
type story struct {
	out   io.Writer
	steps []timing
	// interrupted reports whether the person stopped the demo (Ctrl-C, SIGTERM): a step that fails
	// then was cut short, not broken.
	interrupted func() bool
}

type timing struct {
	title string
	took  time.Duration
}

// sayFunc is a step's narration: indented lines, printf-style.
type sayFunc func(format string, args ...any)

// step runs f as the next step under title. A failure names the step and why.
func (s *story) step(title string, f func(say sayFunc) error) error {
	n := len(s.steps) + 1
	fmt.Fprintf(s.out, "\n%2d. %s\n", n, title)
	start := time.Now()
	err := f(func(format string, args ...any) {
		for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
			fmt.Fprintf(s.out, "    %s\n", line)
		}
	})
	took := time.Since(start)
	s.steps = append(s.steps, timing{title, took})
	if err != nil && s.interrupted != nil && s.interrupted() {
		fmt.Fprintf(s.out, "    interrupted after %s\n", seconds(took))
		return fmt.Errorf("step %d (%s): interrupted", n, title)
	}
	if err != nil {
		fmt.Fprintf(s.out, "    FAILED after %s: %v\n", seconds(took), err)
		return fmt.Errorf("step %d (%s): %w", n, title, err)
	}
	fmt.Fprintf(s.out, "    ✓ %s\n", seconds(took))
	return nil
}

// part prints a heading between groups of steps.
func (s *story) part(title string) {
	fmt.Fprintf(s.out, "\n== %s ==\n", title)
}

// summary lists every step's time and the total.
func (s *story) summary(total time.Duration) {
	fmt.Fprintf(s.out, "\nTimings\n")
	for i, t := range s.steps {
		fmt.Fprintf(s.out, "  %7s  %2d. %s\n", seconds(t.took), i+1, t.title)
	}
	fmt.Fprintf(s.out, "  %7s  total (wall time)\n", seconds(total))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
