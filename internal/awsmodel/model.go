// Package awsmodel holds AWS's own service model of ivs-realtime (service-2.json, embedded
// unchanged) and validates API inputs against it. It knows the wire shapes only: no HTTP
// routing, no storage, no domain rules that need state.
package awsmodel

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"sync"
)

//go:embed service-2.json
var serviceJSON []byte

// Model is the parsed service model: operations and shapes, with patterns compiled once.
type Model struct {
	Metadata   Metadata
	Operations map[string]*Operation
	Shapes     map[string]*Shape
}

// Metadata is the model's service identity.
type Metadata struct {
	APIVersion  string `json:"apiVersion"`
	Protocol    string `json:"protocol"`
	SigningName string `json:"signingName"`
}

// Operation is one API operation and its HTTP binding.
type Operation struct {
	Name   string
	Method string
	URI    string
	Input  string // input shape name
	Output string // output shape name
}

// Ref points at a shape, with its binding when it is a structure member.
type Ref struct {
	Shape        string `json:"shape"`
	Location     string `json:"location"`     // "", "uri", "querystring", "header"
	LocationName string `json:"locationName"` // the label, query key or header name
}

// Shape is one model shape with every constraint the model states.
type Shape struct {
	Name     string
	Type     string          `json:"type"` // structure list map string integer float boolean timestamp
	Members  map[string]*Ref `json:"members"`
	Required []string        `json:"required"`
	Member   *Ref            `json:"member"`
	Key      *Ref            `json:"key"`
	Value    *Ref            `json:"value"`
	Min      *float64        `json:"min"`
	Max      *float64        `json:"max"`
	Pattern  string          `json:"pattern"`
	Enum     []string        `json:"enum"`
	Box      bool            `json:"box"`
	Error    *struct {
		HTTPStatusCode int `json:"httpStatusCode"`
	} `json:"error"`

	pattern *regexp.Regexp // anchored: AWS matches patterns against the whole value
	enum    map[string]bool
}

// MemberNames returns the structure's member names, sorted, so messages come in a stable order.
func (s *Shape) MemberNames() []string {
	names := make([]string, 0, len(s.Members))
	for n := range s.Members {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsRequired reports whether member is required in structure s.
func (s *Shape) IsRequired(member string) bool {
	for _, r := range s.Required {
		if r == member {
			return true
		}
	}
	return false
}

// PatternRE is the anchored, compiled pattern the validator enforces (nil when none).
func (s *Shape) PatternRE() *regexp.Regexp { return s.pattern }

var loadOnce = sync.OnceValues(func() (*Model, error) { return parse(serviceJSON) })

// Load returns the embedded model, parsed once; the result is read-only and shared.
func Load() (*Model, error) { return loadOnce() }

func parse(raw []byte) (*Model, error) {
	var doc struct {
		Metadata   Metadata `json:"metadata"`
		Operations map[string]struct {
			Name string `json:"name"`
			HTTP struct {
				Method     string `json:"method"`
				RequestURI string `json:"requestUri"`
			} `json:"http"`
			Input  *Ref `json:"input"`
			Output *Ref `json:"output"`
		} `json:"operations"`
		Shapes map[string]*Shape `json:"shapes"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse service model: %w", err)
	}
	m := &Model{Metadata: doc.Metadata, Operations: map[string]*Operation{}, Shapes: doc.Shapes}
	for name, op := range doc.Operations {
		o := &Operation{Name: name, Method: op.HTTP.Method, URI: op.HTTP.RequestURI}
		if op.Input != nil {
			o.Input = op.Input.Shape
		}
		if op.Output != nil {
			o.Output = op.Output.Shape
		}
		m.Operations[name] = o
	}
	for name, s := range m.Shapes {
		s.Name = name
		if err := s.compile(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Shape) compile() error {
	p := s.Pattern
	if fix, ok := patternFixes[s.Name]; ok {
		p = fix
	}
	if p != "" {
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			return fmt.Errorf("compile pattern of shape %s: %w", s.Name, err)
		}
		s.pattern = re
	}
	if len(s.Enum) > 0 {
		s.enum = make(map[string]bool, len(s.Enum))
		for _, v := range s.Enum {
			s.enum[v] = true
		}
	}
	return nil
}

// OperationNames returns every operation of the model, sorted.
func (m *Model) OperationNames() []string {
	names := make([]string, 0, len(m.Operations))
	for n := range m.Operations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
