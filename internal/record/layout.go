package record

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Object keys under a recording's prefix, as IVS lays them out (IVS-BEHAVIOUR.md §1).
const (
	keyStarted      = "events/recording-started.json"
	keyEnded        = "events/recording-ended.json"
	keyFailed       = "events/recording-failed.json"
	hlsPath         = "media/hls"
	keyMultivariant = hlsPath + "/multivariant.m3u8"
	hlsRendition    = hlsPath + "/high/"
	keyPlaylist     = hlsRendition + "playlist.m3u8"
	thumbsPath      = "media/thumbnails"
	latestPath      = "media/latest_thumbnail"
	keyLatest       = latestPath + "/high/thumb.jpg"
)

// Values of recording_status.
const (
	statusStarted          = "RECORDING_STARTED"
	statusEnded            = "RECORDING_ENDED"
	statusEndedWithFailure = "RECORDING_ENDED_WITH_FAILURE"
)

func segmentKey(n int) string   { return fmt.Sprintf("%s%d.mp4", hlsRendition, n) }
func initName(k int) string     { return fmt.Sprintf("init-%d.mp4", k) }
func thumbnailKey(n int) string { return fmt.Sprintf("%s/high/%d.jpg", thumbsPath, n) }

// prefixTime formats a recording's start for its prefix: RFC 3339 UTC with ':' as '-'.
func prefixTime(t time.Time) string {
	return strings.ReplaceAll(t.UTC().Format("2006-01-02T15:04:05Z"), ":", "-")
}

// metadata is the body of the events/*.json files (IVS-BEHAVIOUR.md §1).
type metadata struct {
	Version       string  `json:"version"`
	StageArn      string  `json:"stage_arn"`
	SessionID     string  `json:"session_id"`
	ParticipantID string  `json:"participant_id"`
	StartedAt     string  `json:"recording_started_at,omitempty"`
	EndedAt       string  `json:"recording_ended_at,omitempty"`
	Status        string  `json:"recording_status"`
	StatusMessage string  `json:"recording_status_message,omitempty"`
	Media         mediaMD `json:"media"`
}

type mediaMD struct {
	HLS             *hlsMD   `json:"hls,omitempty"`
	Thumbnails      *thumbMD `json:"thumbnails,omitempty"`
	LatestThumbnail *thumbMD `json:"latest_thumbnail,omitempty"`
}

type hlsMD struct {
	DurationMs *int64      `json:"duration_ms,omitempty"` // only in the end files
	Path       string      `json:"path"`
	Playlist   string      `json:"playlist"`
	Renditions []rendition `json:"renditions"`
}

type rendition struct {
	Path     string `json:"path"`
	Playlist string `json:"playlist,omitempty"`
}

type thumbMD struct {
	Path       string      `json:"path"`
	Renditions []rendition `json:"renditions"`
}

// metadataJSON renders an events file for st; final adds the end fields.
func metadataJSON(st *state, final bool) []byte {
	m := metadata{
		Version: "v1", StageArn: st.StageArn, SessionID: st.SessionID, ParticipantID: st.ParticipantID,
		StartedAt: rfc3339(st.StartedAt), Status: statusStarted,
	}
	if st.HLS {
		m.Media.HLS = &hlsMD{Path: hlsPath, Playlist: "multivariant.m3u8",
			Renditions: []rendition{{Path: "high", Playlist: "playlist.m3u8"}}}
	}
	if st.Sequential {
		m.Media.Thumbnails = &thumbMD{Path: thumbsPath, Renditions: []rendition{{Path: "high"}}}
	}
	if st.Latest {
		m.Media.LatestThumbnail = &thumbMD{Path: latestPath, Renditions: []rendition{{Path: "high"}}}
	}
	if final {
		m.Status = st.Status
		if st.EndedAt != nil {
			m.EndedAt = rfc3339(*st.EndedAt)
		}
		if st.Status != statusEnded {
			m.StatusMessage = st.StatusMessage
		}
		if m.Media.HLS != nil {
			d := st.durationMs()
			m.Media.HLS.DurationMs = &d
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return b
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// mediaPlaylist renders high/playlist.m3u8 listing the first n segments of st; ended adds
// EXT-X-ENDLIST. It is an EVENT playlist: segments are only ever appended.
func mediaPlaylist(st *state, n int, ended bool) []byte {
	target := st.TargetSeconds
	for _, g := range st.Segments[:n] {
		target = max(target, int(math.Round(g.Seconds)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n", target)
	first := 1
	if n > 0 {
		first = st.Segments[0].N
	}
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n", first)
	init := ""
	for i, g := range st.Segments[:n] {
		if g.Discontinuity && i > 0 {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		if g.Init != init {
			fmt.Fprintf(&b, "#EXT-X-MAP:URI=\"%s\"\n", g.Init)
			init = g.Init
		}
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%d.mp4\n", g.Seconds, g.N)
	}
	if ended {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return []byte(b.String())
}

// multivariantPlaylist renders multivariant.m3u8, naming the one rendition, high.
func multivariantPlaylist(st *state) []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", max(st.PeakBitrate, 1))
	if st.Codecs != "" {
		fmt.Fprintf(&b, ",CODECS=\"%s\"", st.Codecs)
	}
	if st.Width > 0 {
		fmt.Fprintf(&b, ",RESOLUTION=%dx%d", st.Width, st.Height)
	}
	b.WriteString("\nhigh/playlist.m3u8\n")
	return []byte(b.String())
}
