package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The table has one row per benchmark and metric: the median of its runs, with the smallest and the
// largest, each package's benchmarks under it.
func TestReport(t *testing.T) {
	rows, err := read([]string{"testdata/bench.txt"})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, Row{Package: "github.com/supportaccess/gateway/test/e2e", Benchmark: "ReconcileCriticalPath-2", Unit: "create-ms",
		Median: 163, Min: 150, Max: 170, Runs: 3}, rows[0])
	assert.Equal(t, "seq-create-ms", rows[1].Unit)
	assert.Equal(t, 423.0, rows[1].Median)
	assert.Equal(t, "SignIn/verified-2", rows[2].Benchmark)
	assert.Equal(t, "sec/op", rows[2].Unit, "benchfmt's tidy unit for ns/op")
	assert.InDelta(t, 210e-6, rows[2].Median, 1e-12)

	var b bytes.Buffer
	require.NoError(t, printTable(&b, rows))
	assert.Regexp(t, `(?m)^  ReconcileCriticalPath-2 +create-ms +163 +150 – 170 +3$`, b.String())
	assert.Regexp(t, `(?m)^ +seq-create-ms +423 +421 – 430 +3$`, b.String())
	assert.Regexp(t, `(?m)^  SignIn/verified-2 +sec/op +210µs +210µs – 210µs +1$`, b.String())
	assert.Regexp(t, `(?m)^github.com/supportaccess/gateway/internal/api`, b.String())

	_, err = read([]string{"testdata/missing.txt"})
	assert.Error(t, err)
}
