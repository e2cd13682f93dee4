package consul_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's Guarantees section names, for each promise, the tests that
// prove it: each named test must exist, in the root package or in the
// concurrency package, so that a promise never points at a test that was
// renamed or deleted.
func TestGuaranteesNameRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	text := string(readme)
	start := strings.Index(text, "### Guarantees")
	require.GreaterOrEqual(t, start, 0, "README has a Guarantees section")
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	if end := strings.Index(section, "\n### "); end >= 0 {
		section = section[:end]
	}
	named := regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]+)`").FindAllStringSubmatch(section, -1)
	require.Greater(t, len(named), 20)

	defined := map[string]bool{}
	// The tests of the root package and of the packages beside it.
	var files []string
	for _, pattern := range []string{"*_test.go", filepath.Join("concurrency", "*_test.go"), filepath.Join("connect", "*_test.go"), filepath.Join("discovery", "*_test.go")} {
		matches, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, matches...)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
				defined[fn.Name.Name] = true
			}
		}
	}
	for _, m := range named {
		require.True(t, defined[m[1]], "README's Guarantees names %s, which no test file defines", m[1])
	}
}
