package binding_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nfdhcpd/nfdhcpd/binding"
)

// FuzzParse checks that whatever Parse accepts survives a round trip through
// the serializer WriteFile uses: Parse, Format(Values), Parse again, equal.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		entries, err := os.ReadDir(filepath.Join(fixturesDir, dir))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(fixturesDir, dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := binding.Parse("tap0", data)
		if err != nil {
			return
		}
		values := first.Values()
		out, err := binding.Format(values)
		if err != nil {
			t.Fatalf("Format(%q) of an accepted binding: %v", values, err)
		}
		second, err := binding.Parse("tap0", out)
		if err != nil {
			t.Fatalf("Parse of the serialized binding %q: %v", out, err)
		}
		if diff := cmp.Diff(first, second, equateNetip); diff != "" {
			t.Errorf("round trip mismatch (-first +second):\n%s\nserialized:\n%s", diff, out)
		}
	})
}
