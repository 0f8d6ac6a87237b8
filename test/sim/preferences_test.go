package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The operation preferences as "StackSet operation options" documents them: percentages rounded
// down (a maximum of at least one), the defaults, and the strict mode's concurrency, which failures
// lower and the tolerance caps.
func TestOperationPreferences(t *testing.T) {
	for name, c := range map[string]struct {
		p       OperationPreferences
		n       int
		want    Preferences
		atFails []int // Concurrency(0), Concurrency(1), …
	}{
		"defaults: one at a time, none tolerated": {OperationPreferences{}, 200,
			Preferences{MaxConcurrent: 1, FailureTolerance: 0, Mode: StrictFailureTolerance}, []int{1}},
		"the committed template's (FailureTolerancePercentage 0): a maximum does not help in the strict mode": {
			OperationPreferences{MaxConcurrentPercentage: 100}, 200,
			Preferences{MaxConcurrent: 200, FailureTolerance: 0, Mode: StrictFailureTolerance}, []int{1}},
		"percentages round down": {OperationPreferences{MaxConcurrentPercentage: 10, FailureTolerancePercentage: 5}, 199,
			Preferences{MaxConcurrent: 19, FailureTolerance: 9, Mode: StrictFailureTolerance}, []int{10, 9, 8}},
		"a percentage that rounds to zero accounts at a time is one": {OperationPreferences{MaxConcurrentPercentage: 1}, 50,
			Preferences{MaxConcurrent: 1, Mode: StrictFailureTolerance}, []int{1}},
		"a tolerance percentage may round to zero": {OperationPreferences{MaxConcurrentCount: 4, FailureTolerancePercentage: 10}, 9,
			Preferences{MaxConcurrent: 4, FailureTolerance: 0, Mode: StrictFailureTolerance}, []int{1}},
		"strict: the lower of the maximum and the tolerance plus one, less the failures": {
			OperationPreferences{MaxConcurrentCount: 3, FailureToleranceCount: 5}, 100,
			Preferences{MaxConcurrent: 3, FailureTolerance: 5, Mode: StrictFailureTolerance}, []int{3, 3, 3, 3, 2, 1}},
		"soft: the maximum whatever fails": {OperationPreferences{MaxConcurrentCount: 8, ConcurrencyMode: SoftFailureTolerance}, 100,
			Preferences{MaxConcurrent: 8, FailureTolerance: 0, Mode: SoftFailureTolerance}, []int{8, 8}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := c.p.For(c.n)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			for failed, want := range c.atFails {
				assert.Equal(t, want, got.Concurrency(failed), "after %d failures", failed)
			}
		})
	}
	for name, p := range map[string]OperationPreferences{
		"both maxima":     {MaxConcurrentCount: 2, MaxConcurrentPercentage: 10},
		"both tolerances": {FailureToleranceCount: 1, FailureTolerancePercentage: 10},
		"over 100%":       {MaxConcurrentPercentage: 101},
		"unknown mode":    {ConcurrencyMode: "FAST"},
	} {
		_, err := p.For(10)
		assert.Error(t, err, name)
	}
}
