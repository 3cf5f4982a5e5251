package awsmodel

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Violation is one broken constraint: where, and what the member must satisfy.
type Violation struct {
	Path       string // member path in AWS's form: "participantTokenConfigurations.1.member.duration"
	Value      string // the offending value as AWS quotes it ("null" when missing)
	Constraint string
}

// ValidationError lists every violation of one input, in a stable order.
type ValidationError struct {
	Violations []Violation
}

// Error renders the violations the way AWS's services word them, so the message names each member.
func (e *ValidationError) Error() string {
	n := len(e.Violations)
	parts := make([]string, n)
	for i, v := range e.Violations {
		parts[i] = fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v.Value, v.Path, v.Constraint)
	}
	noun := "error"
	if n != 1 {
		noun = "errors"
	}
	return fmt.Sprintf("%d validation %s detected: %s", n, noun, strings.Join(parts, "; "))
}

// maxViolations bounds the work and the message for hostile inputs.
const maxViolations = 20

type validator struct {
	m   *Model
	out []Violation
}

// ValidateInput checks in, the request's members (body merged with path labels and query
// lists), against operation op's input shape, and prunes from it every key the model does not
// name. JSON numbers must have been decoded with UseNumber. It returns a *ValidationError or nil.
func (m *Model) ValidateInput(op string, in map[string]any) error {
	o, ok := m.Operations[op]
	if !ok {
		return fmt.Errorf("validate input: unknown operation %q", op)
	}
	v := &validator{m: m}
	if o.Input != "" {
		v.structure(m.Shapes[o.Input], in, "")
	}
	if len(v.out) == 0 {
		return nil
	}
	return &ValidationError{Violations: v.out}
}

func (v *validator) add(path, value, constraint string) {
	if len(v.out) < maxViolations {
		v.out = append(v.out, Violation{Path: path, Value: value, Constraint: constraint})
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (v *validator) value(s *Shape, x any, path string) {
	if x == nil {
		return // JSON null is an absent member
	}
	switch s.Type {
	case "structure":
		obj, ok := x.(map[string]any)
		if !ok {
			v.add(path, quote(x), "Member must be a JSON object")
			return
		}
		v.structure(s, obj, path)
	case "list":
		v.list(s, x, path)
	case "map":
		v.mapValue(s, x, path)
	case "string":
		v.str(s, x, path)
	case "integer", "long":
		v.integer(s, x, path)
	case "float", "double":
		v.float(s, x, path)
	case "boolean":
		if _, ok := x.(bool); !ok {
			v.add(path, quote(x), "Member must be a boolean")
		}
	case "timestamp":
		if _, ok := x.(string); !ok {
			v.add(path, quote(x), "Member must be an ISO 8601 timestamp string")
		}
	}
}

// structure validates obj's members and prunes every key that is not a member of s by its
// exact name (and every null), so a decoder that matches names loosely (encoding/json) can
// only ever see validated values.
func (v *validator) structure(s *Shape, obj map[string]any, path string) {
	for k, x := range obj {
		if _, ok := s.Members[k]; !ok || x == nil {
			delete(obj, k)
		}
	}
	for _, name := range s.MemberNames() {
		x, present := obj[name]
		p := join(path, name)
		if !present || x == nil {
			if s.IsRequired(name) {
				v.add(p, "null", "Member must not be null")
			}
			continue
		}
		v.value(v.m.Shapes[s.Members[name].Shape], x, p)
	}
	if rule, ok := structureRules[s.Name]; ok && len(v.out) == 0 {
		rule(v, obj, path)
	}
}

func (v *validator) list(s *Shape, x any, path string) {
	items, ok := x.([]any)
	if !ok {
		v.add(path, quote(x), "Member must be a JSON array")
		return
	}
	v.size(s, len(items), quote(x), path)
	elem := v.m.Shapes[s.Member.Shape]
	for i, it := range items {
		p := path + "." + strconv.Itoa(i+1) + ".member"
		if it == nil {
			v.add(p, "null", "Member must not be null")
			continue
		}
		v.value(elem, it, p)
	}
	if rule, ok := valueRules[s.Name]; ok {
		rule(v, x, path)
	}
}

func (v *validator) mapValue(s *Shape, x any, path string) {
	obj, ok := x.(map[string]any)
	if !ok {
		v.add(path, quote(x), "Member must be a JSON object")
		return
	}
	v.size(s, len(obj), quote(x), path)
	keyShape, valShape := v.m.Shapes[s.Key.Shape], v.m.Shapes[s.Value.Shape]
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.str(keyShape, k, path)
		if obj[k] == nil {
			v.add(path+"."+k, "null", "Map value must not be null")
			continue
		}
		v.value(valShape, obj[k], path+"."+k)
	}
	if rule, ok := valueRules[s.Name]; ok {
		rule(v, x, path)
	}
}

// size checks a list's or map's entry count against the shape's bounds.
func (v *validator) size(s *Shape, n int, shown, path string) {
	if s.Min != nil && float64(n) < *s.Min {
		v.add(path, shown, fmt.Sprintf("Member must have length greater than or equal to %g", *s.Min))
	}
	if s.Max != nil && float64(n) > *s.Max {
		v.add(path, shown, fmt.Sprintf("Member must have length less than or equal to %g", *s.Max))
	}
}

func (v *validator) str(s *Shape, x any, path string) {
	str, ok := x.(string)
	if !ok {
		v.add(path, quote(x), "Member must be a string")
		return
	}
	shown := quote(str)
	// Smithy counts length in Unicode code points.
	n := utf8.RuneCountInString(str)
	if s.Min != nil && float64(n) < *s.Min {
		v.add(path, shown, fmt.Sprintf("Member must have length greater than or equal to %g", *s.Min))
	}
	if s.Max != nil && float64(n) > *s.Max {
		v.add(path, shown, fmt.Sprintf("Member must have length less than or equal to %g", *s.Max))
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		v.add(path, shown, "Member must satisfy regular expression pattern: "+patternShown(s))
	}
	if s.enum != nil && !s.enum[str] {
		v.add(path, shown, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
	}
	if rule, ok := valueRules[s.Name]; ok {
		rule(v, str, path)
	}
}

func patternShown(s *Shape) string {
	if fix, ok := patternFixes[s.Name]; ok {
		return fix
	}
	return s.Pattern
}

func (v *validator) integer(s *Shape, x any, path string) {
	num, ok := x.(json.Number)
	if !ok {
		v.add(path, quote(x), "Member must be an integer")
		return
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		v.add(path, string(num), "Member must be an integer")
		return
	}
	v.bounds(s, float64(n), string(num), path)
}

func (v *validator) float(s *Shape, x any, path string) {
	num, ok := x.(json.Number)
	if !ok {
		v.add(path, quote(x), "Member must be a number")
		return
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		v.add(path, string(num), "Member must be a number")
		return
	}
	v.bounds(s, f, string(num), path)
}

func (v *validator) bounds(s *Shape, f float64, shown, path string) {
	if s.Min != nil && f < *s.Min {
		v.add(path, shown, fmt.Sprintf("Member must have value greater than or equal to %g", *s.Min))
	}
	if s.Max != nil && f > *s.Max {
		v.add(path, shown, fmt.Sprintf("Member must have value less than or equal to %g", *s.Max))
	}
}

// quote shows a value as AWS does in messages, shortened so a huge input cannot bloat the reply.
func quote(x any) string {
	var s string
	switch t := x.(type) {
	case string:
		s = t
	case json.Number:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(t)
		s = string(b)
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "'" + strings.ToValidUTF8(s, "?") + "'"
}
