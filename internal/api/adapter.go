package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// operation is one API operation behind the generic adapter.
type operation struct {
	name string
	// serve decodes the validated, pruned members and runs the handler.
	serve func(ctx context.Context, in map[string]any) (any, error)
}

// op adapts a typed handler: decode into In, call, return Out (encoded by the caller).
// Validation against the model has already run on in.
func op[In, Out any](name string, fn func(context.Context, *In) (*Out, error)) operation {
	return operation{name: name, serve: func(ctx context.Context, in map[string]any) (any, error) {
		// Decode from the validated tree, never from the raw body: the validator pruned every
		// key that is not a member by its exact name.
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s: encode input: %w", name, err)
		}
		input := new(In)
		if err := json.Unmarshal(b, input); err != nil {
			return nil, validation("Could not decode the request: " + err.Error())
		}
		return fn(ctx, input)
	}}
}

// decodeMembers parses a request body into generic JSON with numbers kept exact. An empty
// body is {} (SPEC §2.1).
func decodeMembers(body []byte) (map[string]any, error) {
	in := map[string]any{}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, validation("Could not parse the request body as JSON: " + err.Error())
	}
	if dec.More() {
		return nil, validation("Could not parse the request body as JSON: trailing data after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, validation("The request body must be a JSON object")
	}
	return obj, nil
}
