// Command benchreport turns `go test -bench` output (several -count runs) into the one table make
// bench prints: every benchmark's every metric, as the median of its runs with the smallest and
// largest run beside it, so a reader sees the machine's noise next to the figure. With -json it
// also writes the table as JSON, for comparing one run of make bench with another.
//
//	go test -run '^$' -bench . -count 5 ./... | tee bench.out
//	go run ./cmd/benchreport -json bench.json bench.out
//
// The Go benchmark format is parsed with golang.org/x/perf/benchfmt and the medians are
// golang.org/x/perf/benchmath's (AssumeNothing: the sample median, as benchstat reports it).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Row is one benchmark's one metric over its runs.
type Row struct {
	Package   string  `json:"package"`
	Benchmark string  `json:"benchmark"`
	Unit      string  `json:"unit"`
	Median    float64 `json:"median"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Runs      int     `json:"runs"`
}

func main() {
	jsonOut := flag.String("json", "", "also write the table as JSON to this file")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: benchreport [-json file] [bench output file ...] (stdin if none)")
		flag.PrintDefaults()
	}
	flag.Parse()
	rows, err := read(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no benchmark results in the input")
		os.Exit(1)
	}
	if err := printTable(os.Stdout, rows); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if *jsonOut != "" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
}

// read parses the files (stdin if none) and returns one Row per package, benchmark and unit, in
// the order they first appear.
func read(files []string) ([]Row, error) {
	type key struct{ pkg, name, unit string }
	var order []key
	samples := map[key][]float64{}
	parse := func(r io.Reader, name string) error {
		br := benchfmt.NewReader(r, name)
		for br.Scan() {
			switch rec := br.Result().(type) {
			case *benchfmt.SyntaxError:
				return rec
			case *benchfmt.Result:
				for _, v := range rec.Values {
					k := key{rec.GetConfig("pkg"), string(rec.Name.Full()), v.Unit}
					if _, seen := samples[k]; !seen {
						order = append(order, k)
					}
					samples[k] = append(samples[k], v.Value)
				}
			}
		}
		return br.Err()
	}
	if len(files) == 0 {
		if err := parse(os.Stdin, "stdin"); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		err = parse(fh, f)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	rows := make([]Row, 0, len(order))
	for _, k := range order {
		vals := samples[k]
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(vals, &benchmath.DefaultThresholds), 0.95)
		rows = append(rows, Row{Package: k.pkg, Benchmark: k.name, Unit: k.unit, Median: s.Center,
			Min: slices.Min(vals), Max: slices.Max(vals), Runs: len(vals)})
	}
	return rows, nil
}

// printTable writes rows grouped by package and benchmark: one line per metric.
func printTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmetric\tmedian\tmin – max\truns")
	last := ""
	for _, r := range rows {
		name := r.Benchmark
		if id := r.Package + " " + r.Benchmark; id != last {
			if r.Package != "" && !strings.HasPrefix(last, r.Package+" ") {
				fmt.Fprintf(tw, "%s\t\t\t\t\n", r.Package)
			}
			last = id
		} else {
			name = ""
		}
		f := num
		if r.Unit == "sec/op" { // benchfmt's unit for ns/op: shown as a duration
			f = duration
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s – %s\t%d\n", name, r.Unit, f(r.Median), f(r.Min), f(r.Max), r.Runs)
	}
	return errors.Join(tw.Flush())
}

// duration writes seconds v as a duration to three significant digits: 210µs, 1.52s.
func duration(v float64) string {
	d := time.Duration(v * float64(time.Second))
	for unit := time.Duration(1); unit < time.Hour; unit *= 10 {
		if d < 1000*unit {
			return d.Round(unit).String()
		}
	}
	return d.Round(time.Second).String()
}

// num writes v with the digits a reader needs: whole numbers from 100 up, three significant digits
// below.
func num(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f", v)
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
