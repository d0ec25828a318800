package binding

import "testing"

// unquoteCases are values whose quoting the fast path must either get
// exactly right or leave to the full interpretation.
var unquoteCases = []string{
	"", " ", "plain", "  plain", "a b", "a b ", "a  b\t", "a #c", "a#b", "#x", " #x", "\t# c",
	"'q'", " 'q' ", "'q' # c", "'q'x", "'a''b'", "'a'\\''b'", "'open", "\"d\"", "\"a\\\"b\"",
	"a\\ b", "\\", "'x'#y", "'x' y", "x 'y'", "'' ", "''",
}

// TestUnquoteSimpleAgreesWithFull checks the copy-free fast path against
// the full shell-style interpretation on every case it claims.
func TestUnquoteSimpleAgreesWithFull(t *testing.T) {
	claimed := 0
	for _, raw := range unquoteCases {
		got, ok := unquoteSimple(raw)
		if !ok {
			continue
		}
		claimed++
		want, err := unquoteFull(raw)
		if err != nil || got != want {
			t.Errorf("unquoteSimple(%q) = %q, want %q (full interpretation, error %v)", raw, got, want, err)
		}
	}
	if claimed < len(unquoteCases)/2 {
		t.Errorf("the fast path took only %d of %d cases; it would not save anything", claimed, len(unquoteCases))
	}
}

// FuzzUnquoteSimple looks for a value the fast path reads differently from
// the full interpretation.
func FuzzUnquoteSimple(f *testing.F) {
	for _, raw := range unquoteCases {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := unquoteSimple(raw)
		if !ok {
			return
		}
		want, err := unquoteFull(raw)
		if err != nil || got != want {
			t.Errorf("unquoteSimple(%q) = %q, want %q (full interpretation, error %v)", raw, got, want, err)
		}
	})
}
