package faultproxy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/supportaccess/gateway/test/faultproxy"
)

func TestCriticalPath(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := func(from, to int) faultproxy.Call { // milliseconds after t0
		return faultproxy.Call{Start: t0.Add(time.Duration(from) * time.Millisecond), End: t0.Add(time.Duration(to) * time.Millisecond)}
	}
	inFlight := faultproxy.Call{Start: t0.Add(20 * time.Millisecond)}

	tests := []struct {
		name  string
		calls []faultproxy.Call
		want  int
	}{
		{"no calls", nil, 0},
		{"one call", []faultproxy.Call{span(0, 5)}, 1},
		{"sequential, back to back", []faultproxy.Call{span(0, 5), span(5, 9), span(9, 12), span(12, 20)}, 4},
		{"sequential with gaps", []faultproxy.Call{span(0, 5), span(7, 9), span(30, 40)}, 3},
		{"fully parallel", []faultproxy.Call{span(0, 10), span(1, 12), span(2, 8), span(3, 9)}, 1},
		{"overlapping by a little is parallel", []faultproxy.Call{span(0, 10), span(9, 20)}, 1},
		{"three in parallel then one", []faultproxy.Call{span(0, 10), span(0, 11), span(1, 9), span(12, 15)}, 2},
		{
			// A long call beside a chain of short ones: B → C → D (or B → C → E) is the critical path.
			"mixed: the longest chain wins",
			[]faultproxy.Call{span(0, 10) /*A*/, span(0, 3) /*B*/, span(4, 6) /*C*/, span(7, 12) /*D*/, span(11, 15) /*E*/},
			3,
		},
		{"order of the input does not matter", []faultproxy.Call{span(12, 20), span(0, 5), span(9, 12), span(5, 9)}, 4},
		{"calls in flight are ignored", []faultproxy.Call{span(0, 5), span(6, 10), inFlight}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, faultproxy.CriticalPath(tt.calls))
		})
	}
}
