package api

import (
	"net/http"
	"net/url"
	"strings"
)

// operations is the routing table: every operation this API serves, by name. The adapter
// decodes, validates and encodes alike for all of them.
func (a *API) operations() map[string]operation {
	ops := []operation{
		op("CreateStage", a.createStage),
		op("GetStage", a.getStage),
		op("UpdateStage", a.updateStage),
		op("DeleteStage", a.deleteStage),
		op("ListStages", a.listStages),
		op("CreateParticipantToken", a.createParticipantToken),
		op("DisconnectParticipant", a.disconnectParticipant),
		op("ListStageSessions", a.listStageSessions),
		op("GetStageSession", a.getStageSession),
		op("ListParticipants", a.listParticipants),
		op("GetParticipant", a.getParticipant),
		op("ListParticipantEvents", a.listParticipantEvents),
		op("CreateStorageConfiguration", a.createStorageConfiguration),
		op("GetStorageConfiguration", a.getStorageConfiguration),
		op("ListStorageConfigurations", a.listStorageConfigurations),
		op("DeleteStorageConfiguration", a.deleteStorageConfiguration),
		op("CreateEncoderConfiguration", a.createEncoderConfiguration),
		op("GetEncoderConfiguration", a.getEncoderConfiguration),
		op("ListEncoderConfigurations", a.listEncoderConfigurations),
		op("DeleteEncoderConfiguration", a.deleteEncoderConfiguration),
		op("ImportPublicKey", a.importPublicKey),
		op("GetPublicKey", a.getPublicKey),
		op("ListPublicKeys", a.listPublicKeys),
		op("DeletePublicKey", a.deletePublicKey),
		op("TagResource", a.tagResource),
		op("UntagResource", a.untagResource),
		op("ListTagsForResource", a.listTagsForResource),
	}
	m := make(map[string]operation, len(ops))
	for _, o := range ops {
		m[o.name] = o
	}
	return m
}

// route finds the operation of a request and the members its path and query carry. Routing
// uses the escaped path: the tag operations' ARN label is one percent-encoded segment (SPEC §2.1).
func (a *API) route(r *http.Request) (operation, map[string]any, bool) {
	path := r.URL.EscapedPath()
	if label, ok := strings.CutPrefix(path, "/tags/"); ok && !strings.Contains(label, "/") {
		resourceArn, err := url.PathUnescape(label)
		if err != nil {
			return operation{}, nil, false
		}
		members := map[string]any{}
		if resourceArn != "" { // an empty label is a missing member: a 400 naming it, not a 404
			members["resourceArn"] = resourceArn
		}
		var name string
		switch r.Method {
		case http.MethodPost:
			name = "TagResource"
		case http.MethodGet:
			name = "ListTagsForResource"
		case http.MethodDelete:
			name = "UntagResource"
			if keys, ok := r.URL.Query()["tagKeys"]; ok {
				list := make([]any, len(keys))
				for i, k := range keys {
					list[i] = k
				}
				members["tagKeys"] = list
			}
		}
		o, ok := a.ops[name]
		return o, members, ok
	}
	name, ok := strings.CutPrefix(path, "/")
	if !ok || r.Method != http.MethodPost || strings.Contains(name, "/") {
		return operation{}, nil, false
	}
	o, ok := a.ops[name]
	return o, nil, ok
}
