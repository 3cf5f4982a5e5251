package rtc

import "testing"

func TestIsH264Keyframe(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"IDR slice", []byte{0x65, 0x88}, true},
		{"SPS", []byte{0x67, 0x42, 0xc0, 0x1e}, true},
		{"PPS alone", []byte{0x68, 0xce}, false},
		{"non-IDR slice", []byte{0x41, 0x9a}, false},
		{"STAP-A with SPS and PPS", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"STAP-A with SEI and P slice", []byte{0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a}, false},
		{"STAP-A with IDR second", []byte{0x78, 0x00, 0x01, 0x09, 0x00, 0x02, 0x65, 0x88}, true},
		{"STAP-A truncated", []byte{0x78, 0x00, 0x09, 0x67}, false},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0xaa}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0xaa}, false},
		{"FU-A start of P slice", []byte{0x5c, 0x81, 0xaa}, false},
		{"FU-A header missing", []byte{0x7c}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isH264Keyframe(tt.payload); got != tt.want {
				t.Errorf("isH264Keyframe(% x) = %v", tt.payload, got)
			}
		})
	}
}

func TestIsVP8Keyframe(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"empty", nil, false},
		{"start, key frame", []byte{0x10, 0x50}, true},
		{"start, inter frame", []byte{0x10, 0x51}, false},
		{"not a partition start", []byte{0x00, 0x50}, false},
		{"second partition", []byte{0x11, 0x50}, false},
		{"7-bit picture id", []byte{0x90, 0x80, 0x05, 0x50}, true},
		{"15-bit picture id", []byte{0x90, 0x80, 0x81, 0x02, 0x50}, true},
		{"15-bit picture id, inter", []byte{0x90, 0x80, 0x81, 0x02, 0x51}, false},
		{"all extensions", []byte{0x90, 0xf0, 0x81, 0x02, 0x07, 0x20, 0x50}, true},
		{"extension truncated", []byte{0x90, 0xf0}, false},
		{"header missing", []byte{0x90, 0x80, 0x05}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isVP8Keyframe(tt.payload); got != tt.want {
				t.Errorf("isVP8Keyframe(% x) = %v", tt.payload, got)
			}
		})
	}
}
