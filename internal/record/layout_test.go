package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPrefixTime(t *testing.T) {
	got := prefixTime(time.Date(2024, 1, 1, 12, 0, 55, 123, time.FixedZone("x", 3600)))
	if got != "2024-01-01T11-00-55Z" { // IVS-BEHAVIOUR.md §1: RFC 3339 UTC, ':' as '-'
		t.Fatalf("prefixTime = %q", got)
	}
}

func TestMetadataJSON(t *testing.T) {
	st := &state{StageArn: "arn:aws:ivs:us-east-1:123456789012:stage/AbCdef1G2hij", SessionID: "st-ZyXwvu1T2s",
		ParticipantID: "xYz1c2d3e4f", StartedAt: time.Date(2024, 3, 13, 19, 44, 19, 0, time.UTC),
		HLS: true, Sequential: true, Latest: true,
		Segments: []segment{{N: 1, Seconds: 6.2}, {N: 2, Seconds: 3.8}}}
	var started map[string]any
	if err := json.Unmarshal(metadataJSON(st, false), &started); err != nil {
		t.Fatal(err)
	}
	if started["recording_status"] != "RECORDING_STARTED" || started["recording_ended_at"] != nil ||
		started["recording_started_at"] != "2024-03-13T19:44:19Z" {
		t.Errorf("started: %v", started)
	}
	if hls := started["media"].(map[string]any)["hls"].(map[string]any); hls["duration_ms"] != nil || hls["playlist"] != "multivariant.m3u8" {
		t.Errorf("started media.hls: %v", hls)
	}
	end := time.Date(2024, 3, 13, 19, 55, 4, 0, time.UTC)
	st.Status, st.EndedAt = statusEnded, &end
	var ended struct {
		EndedAt string  `json:"recording_ended_at"`
		Status  string  `json:"recording_status"`
		Message *string `json:"recording_status_message"`
		Media   struct {
			HLS struct {
				DurationMs int64 `json:"duration_ms"`
			} `json:"hls"`
			Thumbnails      map[string]any `json:"thumbnails"`
			LatestThumbnail map[string]any `json:"latest_thumbnail"`
		} `json:"media"`
	}
	if err := json.Unmarshal(metadataJSON(st, true), &ended); err != nil {
		t.Fatal(err)
	}
	if ended.Status != "RECORDING_ENDED" || ended.EndedAt != "2024-03-13T19:55:04Z" || ended.Message != nil ||
		ended.Media.HLS.DurationMs != 10000 || ended.Media.Thumbnails["path"] != "media/thumbnails" ||
		ended.Media.LatestThumbnail["path"] != "media/latest_thumbnail" {
		t.Errorf("ended: %+v", ended)
	}

	// mediaTypes NONE: no media.hls; no thumbnails configured: neither thumbnail member.
	none := &state{StageArn: st.StageArn, StartedAt: st.StartedAt}
	if b := string(metadataJSON(none, false)); strings.Contains(b, "hls") || strings.Contains(b, "thumbnail") {
		t.Errorf("NONE without thumbnails: %s", b)
	}
}

func TestMediaPlaylist(t *testing.T) {
	st := &state{TargetSeconds: 6, Segments: []segment{
		{N: 1, Seconds: 6.3, Init: "init-1.mp4"}, {N: 2, Seconds: 7.6, Init: "init-1.mp4"},
		{N: 3, Seconds: 2, Init: "init-2.mp4", Discontinuity: true},
	}}
	got := string(mediaPlaylist(st, 3, true))
	want := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-PLAYLIST-TYPE:EVENT\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init-1.mp4\"\n#EXTINF:6.300,\n1.mp4\n#EXTINF:7.600,\n2.mp4\n" +
		"#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\"\n#EXTINF:2.000,\n3.mp4\n#EXT-X-ENDLIST\n"
	if got != want {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want)
	}
	if p := string(mediaPlaylist(st, 1, false)); strings.Contains(p, "2.mp4") || strings.Contains(p, "ENDLIST") {
		t.Errorf("a playlist of the first stored segment:\n%s", p)
	}
}

func TestUploadOrder(t *testing.T) {
	keys := []string{keyEnded, "media/thumbnails/high/10.jpg", hlsRendition + "10.mp4", keyLatest,
		hlsRendition + "2.mp4", "media/thumbnails/high/2.jpg", hlsRendition + "init-1.mp4", keyStarted}
	sortByUpload(keys)
	want := []string{keyStarted, hlsRendition + "init-1.mp4", hlsRendition + "2.mp4", hlsRendition + "10.mp4",
		"media/thumbnails/high/2.jpg", "media/thumbnails/high/10.jpg", keyLatest, keyEnded}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("upload order\n%q\nwant\n%q", keys, want)
	}
}
