package policy

import "testing"

// The reconciler compares the stored and the desired document on every run: these measure the
// comparison and the rendering it depends on, for the largest document (the boundary).

func BenchmarkBoundaryJSON(b *testing.B) {
	d := DefaultVendor().Boundary(longest)
	for b.Loop() {
		_ = d.JSON()
	}
}

func BenchmarkEquivalentBoundary(b *testing.B) {
	v := DefaultVendor()
	x, y := v.Boundary(longest), v.Boundary(longest)
	for b.Loop() {
		if !Equivalent(x, y) {
			b.Fatal("a document must be equivalent to itself")
		}
	}
}
