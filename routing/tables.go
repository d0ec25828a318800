package routing

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultTablesDir is where iproute2 keeps the rt_tables files.
const DefaultTablesDir = "/etc/iproute2"

// TableNames maps routing table names (rt_tables) to table numbers.
type TableNames map[string]int

// builtinTables are the names the kernel itself defines; they resolve even
// when no rt_tables file exists.
var builtinTables = map[string]int{"unspec": 0, "default": 253, "main": 254, "local": 255}

// ReadTableNames reads dir/rt_tables and then dir/rt_tables.d/*.conf, in
// name order, as iproute2 does. Missing files are not an error; a
// malformed line is, naming the file and line.
func ReadTableNames(dir string) (TableNames, error) {
	names := TableNames{}
	files := []string{filepath.Join(dir, "rt_tables")}
	more, err := filepath.Glob(filepath.Join(dir, "rt_tables.d", "*.conf"))
	if err != nil {
		return nil, fmt.Errorf("routing: rt_tables.d: %w", err)
	}
	sort.Strings(more)
	files = append(files, more...)
	for _, f := range files {
		if err := names.readFile(f); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (t TableNames) readFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return fmt.Errorf("routing: %s:%d: want \"NUMBER NAME\", got %q: %w", path, line, sc.Text(), errConfig)
		}
		id, err := parseTableNumber(fields[0])
		if err != nil {
			return fmt.Errorf("routing: %s:%d: %w", path, line, err)
		}
		t[fields[1]] = id
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("routing: %s: %w", path, err)
	}
	return nil
}

// parseTableNumber accepts decimal and 0x-prefixed hexadecimal numbers, as
// iproute2 does.
func parseTableNumber(s string) (int, error) {
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("routing: bad table number %q: %w", s, errConfig)
	}
	return int(n), nil
}

// Resolve returns the number of the table named or numbered s. Table 0
// (unspec) cannot hold routes and is refused.
func (t TableNames) Resolve(s string) (int, error) {
	s = strings.TrimSpace(s)
	id, ok := t[s]
	if !ok {
		id, ok = builtinTables[s]
	}
	if !ok {
		n, err := parseTableNumber(s)
		if err != nil {
			return 0, fmt.Errorf("routing: unknown routing table %q (not a number nor a name in rt_tables): %w", s, errConfig)
		}
		id = n
	}
	if id == 0 {
		return 0, fmt.Errorf("routing: routing table %q is table 0 (unspec): %w", s, errConfig)
	}
	return id, nil
}
