package safefmt

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

// field is one member of a struct's JSON form.
type field struct {
	name, goName        string
	index               []int // through embedded structs
	omitEmpty, omitZero bool
	quoted              bool
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf returns t's JSON members the way encoding/json chooses them, simplified:
// exported fields, json tag names and options, "-" skipped, and the fields of untagged
// embedded structs promoted unless a shallower field has the name already.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	seen := map[string]bool{}
	type level struct {
		t     reflect.Type
		index []int
	}
	visited := map[reflect.Type]bool{}
	next := []level{{t, nil}}
	for depth := 0; len(next) > 0 && depth < maxDepth; depth++ {
		current := next
		next = nil
		var found []field
		for _, l := range current {
			if visited[l.t] {
				continue
			}
			visited[l.t] = true
			for i := range l.t.NumField() {
				sf := l.t.Field(i)
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clone(l.index), i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if name == "" && ft.Kind() == reflect.Struct {
						next = append(next, level{ft, index})
						continue
					}
					if !sf.IsExported() {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				if name == "" {
					name = sf.Name
				}
				found = append(found, field{
					name:      name,
					goName:    sf.Name,
					index:     index,
					omitEmpty: hasOpt(opts, "omitempty"),
					omitZero:  hasOpt(opts, "omitzero"),
					quoted:    hasOpt(opts, "string"),
				})
			}
		}
		for _, f := range found {
			if !seen[f.name] {
				seen[f.name] = true
				out = append(out, f)
			}
		}
	}
	// Members keep the order of the fields, as encoding/json writes them.
	slices.SortStableFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	fieldCache.Store(t, out)
	return out
}

func hasOpt(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

func sortEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
}
