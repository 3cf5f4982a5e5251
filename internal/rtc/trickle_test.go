package rtc

import (
	"errors"
	"testing"
)

func TestParseSDPFrag(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		ufrag     string
		cands     []fragCandidate
		wantError bool
	}{
		{
			name: "RFC 9725 example",
			body: "a=group:BUNDLE 0 1\r\na=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n" +
				"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
				"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\n" +
				"a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2\r\n" +
				"a=end-of-candidates\r\n",
			ufrag: "EsAw",
			cands: []fragCandidate{
				{value: "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1", mid: "0"},
				{value: "candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2", mid: "0"},
			},
		},
		{
			name:  "bare candidate lines, LF only",
			body:  "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\n",
			cands: []fragCandidate{{value: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}},
		},
		{
			name:  "second m-line without mid",
			body:  "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n",
			cands: []fragCandidate{{value: "candidate:1 1 udp 1 127.0.0.1 9 typ host", mline: 1}},
		},
		{name: "end of candidates only", body: "a=end-of-candidates\r\n"},
		{name: "nothing", body: "hello\r\n", wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSDPFrag(tt.body)
			if tt.wantError {
				if !errors.Is(err, errBadFrag) {
					t.Fatalf("err = %v, want errBadFrag", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.ufrag != tt.ufrag || len(f.candidates) != len(tt.cands) {
				t.Fatalf("got %+v", f)
			}
			for i, c := range f.candidates {
				if c != tt.cands[i] {
					t.Errorf("candidate %d = %+v, want %+v", i, c, tt.cands[i])
				}
			}
		})
	}
}

func TestMidOf(t *testing.T) {
	x := &session{mids: []string{"0", "1"}}
	tests := []struct {
		c       fragCandidate
		want    string
		wantErr bool
	}{
		{fragCandidate{mid: "1"}, "1", false},
		{fragCandidate{mline: 1}, "1", false},
		{fragCandidate{}, "0", false},
		{fragCandidate{mid: "7"}, "", true},
		{fragCandidate{mline: 2}, "", true},
	}
	for _, tt := range tests {
		got, err := x.midOf(tt.c)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("midOf(%+v) = %q, %v", tt.c, got, err)
		}
	}
}
