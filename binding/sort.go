package binding

import (
	"cmp"
	"slices"
)

func sortByName(as []*Active) {
	slices.SortFunc(as, func(a, b *Active) int { return cmp.Compare(a.Name, b.Name) })
}
