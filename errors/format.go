package errors

import (
	"fmt"
	"reflect"
)

// maxFormatDepth bounds how deep formatValue lets fmt walk a value.
const maxFormatDepth = 64

// formatValue is fmt.Sprint for values from the host program, which may be hostile: fmt
// has no cycle detection, so a map or slice that contains itself would recurse until the
// goroutine's stack overflows, a fatal error no recover can stop. Such values are
// described by their type instead; a panicking String or Error method is reported too.
func formatValue(v any) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = fmt.Sprintf("%T (formatting panicked: %v)", v, p)
		}
	}()
	if !formattable(reflect.ValueOf(v), 0, map[uintptr]bool{}) {
		return fmt.Sprintf("%T (cyclic or too deeply nested to format)", v)
	}
	return fmt.Sprint(v)
}

// formattable walks v the way fmt prints it and reports whether fmt would terminate:
// no map or slice on the path contains itself, and nesting stays within maxFormatDepth.
// fmt prints pointers below the top level as addresses, so only the top one is followed.
func formattable(v reflect.Value, depth int, path map[uintptr]bool) bool {
	if depth > maxFormatDepth {
		return false
	}
	switch v.Kind() {
	case reflect.Interface:
		return v.IsNil() || formattable(v.Elem(), depth+1, path)
	case reflect.Pointer:
		if depth > 0 || v.IsNil() {
			return true
		}
		return formattable(v.Elem(), depth+1, path)
	case reflect.Map, reflect.Slice:
		if v.IsNil() || v.Len() == 0 {
			return true
		}
		p := v.Pointer()
		if path[p] {
			return false
		}
		path[p] = true
		defer delete(path, p)
		if v.Kind() == reflect.Map {
			it := v.MapRange()
			for it.Next() {
				if !formattable(it.Key(), depth+1, path) || !formattable(it.Value(), depth+1, path) {
					return false
				}
			}
			return true
		}
		for i := range v.Len() {
			if !formattable(v.Index(i), depth+1, path) {
				return false
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if !formattable(v.Index(i), depth+1, path) {
				return false
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if !formattable(v.Field(i), depth+1, path) {
				return false
			}
		}
	}
	return true
}
