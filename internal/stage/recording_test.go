package stage

import (
	"reflect"
	"testing"

	"github.com/footlight/footlight/internal/store"
)

func ptr[T any](v T) *T { return &v }

func TestRecordingResolve(t *testing.T) {
	def := DefaultRecording()
	sc := "arn:aws:ivs:us-east-1:123456789012:storage-configuration/abcdABCDefgh"
	tests := []struct {
		name string
		in   *RecordingInput
		want func() store.Recording
	}{
		{"absent", nil, func() store.Recording { return def }},
		{"empty storage resets everything", &RecordingInput{MediaTypes: []string{"AUDIO_ONLY"}, ReconnectWindowSeconds: 30}, func() store.Recording { return def }},
		{"storage only gets defaults", &RecordingInput{StorageConfigurationArn: sc}, func() store.Recording {
			r := def
			r.StorageConfigurationArn = sc
			return r
		}},
		{"every member", &RecordingInput{
			StorageConfigurationArn: sc, MediaTypes: []string{"AUDIO_ONLY"},
			Thumbnail:              &ThumbnailInput{TargetIntervalSeconds: ptr(10), Storage: []string{"LATEST"}, RecordingMode: "INTERVAL"},
			ReconnectWindowSeconds: 100, TargetSegmentSeconds: ptr(5), RecordParticipantReplicas: ptr(false),
		}, func() store.Recording {
			return store.Recording{
				StorageConfigurationArn: sc, MediaTypes: []string{"AUDIO_ONLY"},
				Thumbnail:              store.Thumbnail{TargetIntervalSeconds: 10, Storage: []string{"LATEST"}, RecordingMode: "INTERVAL"},
				ReconnectWindowSeconds: 100, HLSTargetSegmentDurationSeconds: 5, RecordParticipantReplicas: false,
			}
		}},
		{"partial thumbnail keeps defaults", &RecordingInput{StorageConfigurationArn: sc, Thumbnail: &ThumbnailInput{RecordingMode: "INTERVAL"}}, func() store.Recording {
			r := def
			r.StorageConfigurationArn = sc
			r.Thumbnail.RecordingMode = "INTERVAL"
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.in.Resolve(), tt.want(); !reflect.DeepEqual(got, want) {
				t.Fatalf("Resolve() = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		cfg  EndpointConfig
		want Endpoints
	}{
		{"http", EndpointConfig{PublicURL: "http://localhost:8080", RTMPListen: ":1935", RTMPSListen: ":4443"}, Endpoints{
			Events: "ws://localhost:8080/events", WHIP: "http://localhost:8080/whip/abcdABCDefgh",
			RTMP: "rtmp://localhost:1935/app/", RTMPS: "rtmps://localhost:4443/app/"}},
		{"https with path, trailing slash", EndpointConfig{PublicURL: "https://media.example.com/ivs/", RTMPListen: "off", RTMPSListen: "0.0.0.0:443"}, Endpoints{
			Events: "wss://media.example.com/ivs/events", WHIP: "https://media.example.com/ivs/whip/abcdABCDefgh",
			RTMP: "", RTMPS: "rtmps://media.example.com:443/app/"}},
		{"ipv6 host", EndpointConfig{PublicURL: "http://[::1]:9000", RTMPListen: ":1935", RTMPSListen: "off"}, Endpoints{
			Events: "ws://[::1]:9000/events", WHIP: "http://[::1]:9000/whip/abcdABCDefgh", RTMP: "rtmp://[::1]:1935/app/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Build("abcdABCDefgh"); got != tt.want {
				t.Fatalf("Build() = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
