package observe

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestREADMEConfigurationTables checks the README's configuration tables against the
// settings table: every variable documented once, with its field, meaning and default,
// and nothing documented that vigil does not read.
func TestREADMEConfigurationTables(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}

	got := map[string]string{} // variable -> its row, normalized
	for _, line := range strings.Split(section, "\n") {
		cells := readmeCells(line)
		if len(cells) == 0 || !strings.HasPrefix(cells[0], "`") || cells[0] == "variable" {
			continue
		}
		name := strings.Trim(cells[0], "`")
		if _, dup := got[name]; dup {
			t.Errorf("README documents %s twice", name)
		}
		got[name] = strings.Join(cells, " | ")
	}

	var diff []string
	for _, s := range settings {
		want := strings.Join([]string{"`" + s.Var + "`", "`" + s.Field + "`", s.Doc, s.Default}, " | ")
		row, ok := got[s.Var]
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("missing from README:\n  + | %s |", want))
		case row != want:
			diff = append(diff, fmt.Sprintf("differs for %s:\n  - | %s |\n  + | %s |", s.Var, row, want))
		}
		delete(got, s.Var)
	}
	for name, row := range got {
		diff = append(diff, fmt.Sprintf("README documents %s, which the settings table does not have:\n  - | %s |", name, row))
	}
	if len(diff) > 0 {
		t.Errorf("README.md's configuration tables disagree with observe/settings.go (- README, + table):\n%s",
			strings.Join(diff, "\n"))
	}
}

// readmeCells splits a Markdown table row into trimmed cells; nil if line is not a row.
func readmeCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || strings.HasPrefix(line, "|---") {
		return nil
	}
	cells := strings.Split(strings.Trim(line, "|"), "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}
