// Package docs_test checks the manual: that the README links to each of its
// documents, and that no relative link or #anchor in the README or in docs/
// leads nowhere. It holds no code of its own: docs/ is the manual.
package docs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// manual lists the documents the README must link to.
var manual = []string{"bindings.md", "routing.md", "bridge-guard.md", "operations.md", "performance.md", "hardening.md", "testing.md"}

func TestManualLinks(t *testing.T) {
	for _, p := range checkManual("..", manual) {
		t.Error(p)
	}
}

// TestCheckerFindsProblems runs the checker on a small tree with one of
// each mistake, so that a checker that finds nothing cannot pass.
func TestCheckerFindsProblems(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Top\n\n[a](docs/a.md), [b](docs/b.md#setting-it-up), [c](docs/c.md)\n\n"+
		"[bad anchor](docs/a.md#nowhere), [self](#top), [dead self](#bottom), [web](https://example.org/x)\n\n"+
		"```\n[in code](docs/none.md)\n```\n\n`[inline](docs/none.md)`\n")
	write("docs/a.md", "# A\n\n[up](../README.md#top) [gone](../contrib/none.conf) [dup](#a-1)\n\n## A\n")
	write("docs/b.md", "# B\n\n## Setting it up\n")
	got := checkManual(root, []string{"a.md", "b.md", "c.md", "d.md"})
	want := []string{
		"README.md: link to docs/c.md: no such file",
		"README.md: link to docs/a.md#nowhere: no heading for #nowhere",
		"README.md: link to #bottom: no heading for #bottom",
		"README.md: does not link to docs/d.md",
		"docs/c.md: missing",
		"docs/d.md: missing",
		"docs/a.md: link to ../contrib/none.conf: no such file",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems found:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// checkManual returns the problems of the README and the documents under
// root: a document missing or not linked from the README, and any relative
// link (with its anchor) that leads nowhere.
func checkManual(root string, docs []string) []string {
	var problems []string
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return []string{fmt.Sprintf("README.md: %v", err)}
	}
	files := []string{"README.md"}
	readmeLinks := links(string(readme))
	for _, d := range docs {
		rel := "docs/" + d
		if !slices.ContainsFunc(readmeLinks, func(l string) bool { return strings.SplitN(l, "#", 2)[0] == rel }) {
			problems = append(problems, fmt.Sprintf("README.md: does not link to %s", rel))
		}
		if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: missing", rel))
			continue
		}
		files = append(files, rel)
	}
	others, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, o := range others {
		if rel := "docs/" + filepath.Base(o); !slices.Contains(files, rel) {
			files = append(files, rel)
		}
	}
	for _, f := range files {
		problems = append(problems, checkFile(root, f)...)
	}
	return problems
}

// checkFile checks every relative link of the Markdown file rel (a path
// under root, with slashes).
func checkFile(root, rel string) []string {
	text, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", rel, err)}
	}
	var problems []string
	for _, link := range links(string(text)) {
		if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
			continue
		}
		target, anchor, _ := strings.Cut(link, "#")
		path := filepath.Join(root, rel)
		if target != "" {
			path = filepath.Join(root, filepath.Dir(rel), target)
			if _, err := os.Stat(path); err != nil {
				problems = append(problems, fmt.Sprintf("%s: link to %s: no such file", rel, link))
				continue
			}
		}
		if anchor == "" {
			continue
		}
		heads, err := anchors(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: link to %s: %v", rel, link, err))
			continue
		}
		if !heads[anchor] {
			problems = append(problems, fmt.Sprintf("%s: link to %s: no heading for #%s", rel, link, anchor))
		}
	}
	return problems
}

// linkPattern matches an inline Markdown link or image and captures its
// destination.
var linkPattern = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)

// links returns the destinations of the inline links of a Markdown text,
// leaving out code blocks and code spans.
func links(text string) []string {
	var out []string
	for _, line := range prose(text) {
		for _, m := range linkPattern.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// prose returns the lines of a Markdown text outside fenced code blocks,
// with code spans blanked.
func prose(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		parts := strings.Split(line, "`")
		for i := 1; i < len(parts); i += 2 {
			if i < len(parts)-1 { // a closed span
				parts[i] = ""
			}
		}
		out = append(out, strings.Join(parts, "`"))
	}
	return out
}

// anchors returns the anchors GitHub gives the headings of the Markdown
// file at path: the heading in lower case, without punctuation, spaces as
// hyphens, and -1, -2... after repeats.
func anchors(path string) (map[string]bool, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	out := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		heading := strings.TrimSpace(strings.TrimLeft(line, "#"))
		slug := slugify(heading)
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out, nil
}

func slugify(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
