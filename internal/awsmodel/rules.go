package awsmodel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// patternFixes replaces model patterns that cannot be enforced as written.
var patternFixes = map[string]string{
	// SPEC §9: the model's ResourceArn has a one-character resource type ("[a-z-]"), which
	// rejects every real ARN; AWS's servers evidently accept "stage/…", so we do too.
	"ResourceArn": `arn:aws:ivs:[a-z0-9-]+:[0-9]+:[a-z-]+/[a-zA-Z0-9-]+`,
}

// MaxAttributesBytes is the documented bound on a token's or ingest configuration's
// attributes: "The maximum length of this field is 1 KB total" (SPEC §9), keys plus values.
const MaxAttributesBytes = 1024

// valueRules are the documented rules on single values (lists, maps, strings) the model cannot
// express, keyed by shape name. They run after the model's own checks on that value.
var valueRules = map[string]func(v *validator, x any, path string){
	"ParticipantTokenAttributes": attributesSize,
	"ParticipantAttributes":      attributesSize,
	// AWS tagging rules (SPEC §9): the "aws:" prefix is reserved for AWS's own tags.
	"TagKey": func(v *validator, x any, path string) {
		if s, _ := x.(string); strings.HasPrefix(strings.ToLower(s), "aws:") {
			v.add(path, quote(s), "Tag keys must not begin with the reserved prefix 'aws:'")
		}
	},
}

func attributesSize(v *validator, x any, path string) {
	total := 0
	for k, val := range x.(map[string]any) {
		s, _ := val.(string)
		total += len(k) + len(s)
	}
	if total > MaxAttributesBytes {
		v.add(path, fmt.Sprintf("'%d bytes'", total),
			fmt.Sprintf("Member must have a total length (keys and values) less than or equal to %d bytes", MaxAttributesBytes))
	}
}

// structureRules are the documented cross-member rules (SPEC §9), keyed by structure shape.
// They run only when the structure's members passed the model's own checks.
var structureRules = map[string]func(v *validator, obj map[string]any, path string){
	"Video":                             videoRule,
	"ParticipantThumbnailConfiguration": thumbnailRule,
	"CreateIngestConfigurationRequest": func(v *validator, obj map[string]any, path string) {
		if obj["ingestProtocol"] == "RTMP" && obj["insecureIngest"] != true {
			v.add(join(path, "insecureIngest"), quote(obj["insecureIngest"]),
				"Member must be true when ingestProtocol is RTMP")
		}
	},
	"ListParticipantsRequest": func(v *validator, obj map[string]any, path string) {
		// Go v2 never sends filterByPublished=false, so false counts as absent.
		oneOf(v, obj, path, "filterByUserId", "filterByPublished", "filterByState", "filterByRecordingState")
	},
	"ListIngestConfigurationsRequest": func(v *validator, obj map[string]any, path string) {
		oneOf(v, obj, path, "filterByStageArn", "filterByState")
	},
	"DestinationConfiguration": func(v *validator, obj map[string]any, path string) {
		if (obj["channel"] == nil) == (obj["s3"] == nil) {
			v.add(path, quote(obj), "Exactly one of channel or s3 must be given")
		}
	},
}

func oneOf(v *validator, obj map[string]any, path string, names ...string) {
	var set []string
	for _, n := range names {
		if x := obj[n]; x != nil && x != false {
			set = append(set, n)
		}
	}
	if len(set) > 1 {
		v.add(join(path, set[1]), quote(obj[set[1]]),
			"Only one of "+strings.Join(names, ", ")+" can be provided per request")
	}
}

// videoRule: width and height even, at most 2,073,600 pixels (1920x1080 or 1080x1920), with
// the documented defaults 1280x720 for an absent dimension.
func videoRule(v *validator, obj map[string]any, path string) {
	dims := map[string]int64{"width": 1280, "height": 720}
	for _, name := range []string{"width", "height"} {
		n, ok := number(obj[name])
		if !ok {
			continue
		}
		if n%2 != 0 {
			v.add(join(path, name), strconv.FormatInt(n, 10), "Member must be an even number")
		}
		dims[name] = n
	}
	if px := dims["width"] * dims["height"]; px > 2073600 {
		v.add(join(path, "width"), fmt.Sprintf("'%dx%d'", dims["width"], dims["height"]),
			"width times height must be less than or equal to 2073600")
	}
}

// thumbnailRule: targetIntervalSeconds "is configurable only if recordingMode is INTERVAL".
// The default (60) is accepted with any mode so a GetStage output can be sent back unchanged.
func thumbnailRule(v *validator, obj map[string]any, path string) {
	n, ok := number(obj["targetIntervalSeconds"])
	if ok && n != 60 && obj["recordingMode"] != "INTERVAL" {
		v.add(join(path, "targetIntervalSeconds"), strconv.FormatInt(n, 10),
			"Member is configurable only if recordingMode is INTERVAL")
	}
}

func number(x any) (int64, bool) {
	num, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	n, err := num.Int64()
	return n, err == nil
}
