package binding

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits that keep a corrupt or hostile binding file from costing memory or
// time. Hooks write a dozen short lines; anything near these is not a binding.
const (
	// MaxFileSize is the largest binding file accepted, in bytes.
	MaxFileSize = 64 << 10
	// MaxLineLength is the longest line accepted, in bytes, without its
	// line feed.
	MaxLineLength = 4096
)

// ErrInvalid is wrapped by every error that reports a binding file or
// interface name as unusable, so callers can tell bad content from I/O
// failures with errors.Is.
var ErrInvalid = errors.New("invalid")

// errNotRegular reports a directory entry that is neither a regular file nor
// a link to one: reading a FIFO would block the watcher forever.
var errNotRegular = errors.New("not a regular file")

// Parse parses and validates the content of the binding file called name
// (the TAP interface name).
//
// The format is the shell-style one the hypervisor hooks write, described in
// the package documentation: KEY=VALUE lines, comments, blank lines, an
// optional "export " prefix and quoting. Every
// value is validated; the first problem found is returned as an error that
// names the file and line and wraps ErrInvalid, for example
//
//	binding: tap0:3: MAC "zz": invalid (want a 48-bit MAC such as 52:54:00:12:34:56)
func Parse(name string, data []byte) (Binding, error) {
	if err := ValidName(name); err != nil {
		return Binding{}, fmt.Errorf("binding: file name: %w", err)
	}
	if len(data) > MaxFileSize {
		return Binding{}, fmt.Errorf("binding: %s: file of %d bytes is larger than %d bytes: %w",
			name, len(data), MaxFileSize, ErrInvalid)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte{'\n'})
		return Binding{}, fmt.Errorf("binding: %s:%d: NUL byte: %w", name, line, ErrInvalid)
	}

	// One conversion of the whole file; lines, keys and values are then
	// substrings of it, and a value needs a copy of its own only when
	// quoting has to be undone.
	text := string(data)
	f := fileValues{name: name}
	for lineNo := 1; len(text) > 0; lineNo++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		line = strings.TrimSuffix(line, "\r")
		if len(line) > MaxLineLength {
			return Binding{}, fmt.Errorf("binding: %s:%d: line of %d bytes is longer than %d bytes: %w",
				name, lineNo, len(line), MaxLineLength, ErrInvalid)
		}
		if err := f.addLine(lineNo, line); err != nil {
			return Binding{}, err
		}
	}
	return f.binding()
}

// ParseFile reads and parses the binding file at path; the binding's name is
// the file's base name. It refuses files that are not regular (a FIFO would
// block) and files larger than MaxFileSize without reading them whole.
func ParseFile(path string) (Binding, error) {
	data, err := readBindingFile(path)
	if err != nil {
		return Binding{}, err
	}
	return Parse(filepath.Base(path), data)
}

// readBindingFile reads at most MaxFileSize+1 bytes of the regular file at
// path, so that Parse can report an oversized file without the whole of it
// in memory. It opens with O_NONBLOCK so that a FIFO dropped into the
// directory cannot block the caller before the type check refuses it.
func readBindingFile(path string) ([]byte, error) {
	data, _, err := readRegularFile(path)
	return data, err
}

// readRegularFile is readBindingFile that also tells a directory, which the
// Table treats as a binding that is gone, from other refused entries.
//
// It costs four system calls and one allocation for a binding file (open,
// fstat, one read into a buffer of the file's size plus one byte, close):
// os.File would add a second fstat, and io.ReadAll a read to see EOF and a
// few buffers; the initial load does this 10,000 times.
func readRegularFile(path string) (data []byte, isDir bool, err error) {
	fd, err := retryEINTR(func() (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, false, fmt.Errorf("binding: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, unix.Fstat(fd, &st) }); err != nil {
		return nil, false, fmt.Errorf("binding: stat %s: %w", path, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, true, fmt.Errorf("binding: %s: %w: %w", filepath.Base(path), errNotRegular, ErrInvalid)
	default:
		return nil, false, fmt.Errorf("binding: %s: %w: %w", filepath.Base(path), errNotRegular, ErrInvalid)
	}
	// One byte more than the size, and more than the limit at most, so that
	// a file that grew since the stat or is oversized is still noticed.
	data = make([]byte, 0, min(st.Size, MaxFileSize)+1)
	for {
		want := cap(data) - len(data)
		n, err := retryEINTR(func() (int, error) { return unix.Read(fd, data[len(data):cap(data)]) })
		if err != nil {
			return nil, false, fmt.Errorf("binding: read %s: %w", path, err)
		}
		data = data[:len(data)+n]
		switch {
		case n < want:
			// A regular file reads short only at its end.
			return data, false, nil
		case len(data) > MaxFileSize:
			return data, false, nil
		default:
			data = slices.Grow(data, min(len(data), MaxFileSize+1-len(data)))
		}
	}
}

// retryEINTR calls f until it is not interrupted by a signal.
func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// A located value is a value together with the line it came from, so that
// checks done after the whole file is read can still name the line.
type located struct {
	value string
	line  int
}

// fileValues collects the understood keys of one file; unknown keys are
// checked for syntax and then dropped.
type fileValues struct {
	name   string
	values [numAllKeys]located // by keyIndex; line 0 means unset
}

// get returns the value of the understood key, if the file set it.
func (f *fileValues) get(key string) (located, bool) {
	v := f.values[keyIndex(key)]
	return v, v.line != 0
}

// must returns the value of a key known to be set.
func (f *fileValues) must(key string) located { return f.values[keyIndex(key)] }

func (f *fileValues) addLine(lineNo int, line string) error {
	key, value, ok, err := splitAssignment(line)
	if err != nil {
		return fmt.Errorf("binding: %s:%d: %w", f.name, lineNo, err)
	}
	i := keyIndex(key)
	if !ok || i < 0 {
		return nil
	}
	if value == "" && !isProfileKey(key) {
		// Empty means unset, and the last assignment wins, so an empty
		// value also cancels an earlier one.
		f.values[i] = located{}
		return nil
	}
	f.values[i] = located{value: value, line: lineNo}
	return nil
}

// splitAssignment splits one line into its key and unquoted value. ok is
// false for blank and comment lines.
func splitAssignment(line string) (key, value string, ok bool, err error) {
	rest := strings.TrimLeft(line, " \t")
	if rest == "" || rest[0] == '#' {
		return "", "", false, nil
	}
	if after, found := strings.CutPrefix(rest, "export"); found && after != "" && (after[0] == ' ' || after[0] == '\t') {
		rest = strings.TrimLeft(after, " \t")
	}
	key, raw, found := strings.Cut(rest, "=")
	if !found {
		return "", "", false, fmt.Errorf("%q is not a KEY=VALUE line: %w", truncate(line), ErrInvalid)
	}
	if !validKey(key) {
		return "", "", false, fmt.Errorf("key %q: %w (want letters, digits and _)", truncate(key), ErrInvalid)
	}
	value, err = unquote(raw)
	if err != nil {
		return "", "", false, fmt.Errorf("%s: %w", key, err)
	}
	return key, value, true, nil
}

// unquote interprets the right-hand side of an assignment the way a shell
// would for the subset hooks write: single quotes are literal, double quotes
// honour the backslash escapes \" \\ \$ and \`, an unquoted backslash escapes
// the next character, and segments concatenate. It is more lenient than a
// shell in two ways that keep files written for the original daemon working:
// whitespace inside an unquoted value is kept (TAGS=a b), and leading
// whitespace is skipped. An unquoted '#' after whitespace starts a comment.
// Nothing is expanded: '$' is an ordinary character.
func unquote(raw string) (string, error) {
	if v, ok := unquoteSimple(raw); ok {
		return v, nil
	}
	return unquoteFull(raw)
}

// unquoteFull is unquote for any value, copying it.
func unquoteFull(raw string) (string, error) {
	var b strings.Builder
	started := false
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case ' ', '\t':
			j := i
			for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t') {
				j++
			}
			if j == len(raw) || raw[j] == '#' {
				return b.String(), nil
			}
			if started {
				b.WriteString(raw[i:j])
			}
			i = j
		case '\'':
			end := strings.IndexByte(raw[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated single quote: %w", ErrInvalid)
			}
			b.WriteString(raw[i+1 : i+1+end])
			i += end + 2
			started = true
		case '"':
			n, err := unquoteDouble(&b, raw[i+1:])
			if err != nil {
				return "", err
			}
			i += 1 + n
			started = true
		case '\\':
			if i+1 == len(raw) {
				return "", fmt.Errorf("line continuation with a trailing backslash is not supported: %w", ErrInvalid)
			}
			b.WriteByte(raw[i+1])
			i += 2
			started = true
		default:
			b.WriteByte(c)
			i++
			started = true
		}
	}
	return b.String(), nil
}

// unquoteSimple handles, without copying, the values almost every file
// holds: plain text, or one single-quoted segment, each optionally followed
// by blanks and a comment. It returns ok false for anything else, which
// unquote then interprets in full.
func unquoteSimple(raw string) (string, bool) {
	rest := strings.TrimLeft(raw, " \t")
	if len(rest) < len(raw) && strings.HasPrefix(rest, "#") {
		return "", true // only a comment after the '='
	}
	var value string
	if strings.HasPrefix(rest, "'") {
		end := strings.IndexByte(rest[1:], '\'')
		if end < 0 {
			return "", false
		}
		value, rest = rest[1:1+end], rest[2+end:]
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return "", false // another segment follows
		}
	} else {
		end := strings.IndexAny(rest, "'\"\\")
		if end >= 0 {
			return "", false
		}
		value, rest = rest, ""
		// A blank run followed by '#' or the end closes the value.
		for i := 0; i < len(value); i++ {
			if value[i] != ' ' && value[i] != '\t' {
				continue
			}
			j := i
			for j < len(value) && (value[j] == ' ' || value[j] == '\t') {
				j++
			}
			if j == len(value) || value[j] == '#' {
				return value[:i], true
			}
			i = j
		}
		return value, true
	}
	after := strings.TrimLeft(rest, " \t")
	if after != "" && after[0] != '#' {
		return "", false
	}
	return value, true
}

// unquoteDouble copies the inside of a double-quoted segment, s being what
// follows the opening quote, and returns how many bytes of s it consumed
// including the closing quote.
func unquoteDouble(b *strings.Builder, s string) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("unterminated double quote: %w", ErrInvalid)
}

// validKey reports whether key is a shell variable name.
func validKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		letter := c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// truncate shortens text quoted in error messages so that a 4 KiB line of
// garbage does not end up whole in the log.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
