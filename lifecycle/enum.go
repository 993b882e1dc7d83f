package lifecycle

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The text forms of the package's enums (Phase, Status, Verdict, ReasonKind), each
// from its table of names.

func enumString(names []string, i int, kind string) string {
	if i >= 0 && i < len(names) && names[i] != "" {
		return names[i]
	}
	return fmt.Sprintf("%s(%d)", kind, i)
}

func enumText(names []string, i int, kind string) ([]byte, error) {
	if i < 0 || i >= len(names) || names[i] == "" {
		return nil, fmt.Errorf("lifecycle: unknown %s %d", strings.ToLower(kind), i)
	}
	return []byte(names[i]), nil
}

func enumParse(names []string, text []byte, kind string) (int, error) {
	for i, name := range names {
		if name != "" && string(text) == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("lifecycle: unknown %s %q (valid: %s)", strings.ToLower(kind), text, strings.Join(names, ", "))
}

// sortedKeys returns m's keys in order, for text that does not change run to run.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
