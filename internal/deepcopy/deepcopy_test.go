package deepcopy

import (
	"reflect"
	"testing"
	"time"
)

type inner struct {
	Tags []string
	M    map[string][]string
}

type outer struct {
	Name   string
	In     *inner
	Ins    []*inner
	Config map[string]any
	At     time.Time
	hidden []int
}

// Of shares nothing the copy's user could change through the original, at
// any depth, and keeps every value.
func TestOf(t *testing.T) {
	orig := outer{
		Name:   "a",
		In:     &inner{Tags: []string{"x"}, M: map[string][]string{"k": {"v"}}},
		Ins:    []*inner{{Tags: []string{"y"}}},
		Config: map[string]any{"nested": map[string]any{"list": []any{"z"}}},
		At:     time.Unix(5, 0),
		hidden: []int{1},
	}
	cp := Of(orig)
	if !reflect.DeepEqual(orig, cp) {
		t.Fatalf("the copy differs: %+v", cp)
	}
	orig.In.Tags[0] = "changed"
	orig.In.M["k"][0] = "changed"
	orig.Ins[0].Tags[0] = "changed"
	orig.Config["nested"].(map[string]any)["list"].([]any)[0] = "changed"
	if cp.In.Tags[0] != "x" || cp.In.M["k"][0] != "v" || cp.Ins[0].Tags[0] != "y" ||
		cp.Config["nested"].(map[string]any)["list"].([]any)[0] != "z" {
		t.Errorf("the copy changed with the original: %+v", cp)
	}
	var nilIn outer
	if c := Of(nilIn); c.In != nil || c.Ins != nil || c.Config != nil {
		t.Errorf("nil values must stay nil: %+v", c)
	}
}
