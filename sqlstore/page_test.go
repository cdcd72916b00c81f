package sqlstore

import (
	"math"
	"testing"
)

func TestPageBound(t *testing.T) {
	for _, tt := range []struct{ limit, want int }{
		{1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {50, 64}, {64, 64}, {65, 128}, {500, 512},
		{1<<62 + 1, 1<<62 + 1}, {math.MaxInt, math.MaxInt}, // no power of two fits: the limit itself
	} {
		if got := pageBound(tt.limit); got != tt.want {
			t.Errorf("pageBound(%d): got %d, want %d", tt.limit, got, tt.want)
		}
	}
}
