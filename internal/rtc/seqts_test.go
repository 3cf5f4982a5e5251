package rtc

import "testing"

func TestSeqNewer(t *testing.T) {
	tests := []struct {
		name string
		a, b uint16
		want bool
	}{
		{"next", 2, 1, true},
		{"previous", 1, 2, false},
		{"equal", 7, 7, false},
		{"across the wrap", 0, 65535, true},
		{"before the wrap", 65535, 0, false},
		{"just under half ahead", 32767, 0, true},
		{"half ahead is behind", 32768, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seqNewer(tt.a, tt.b); got != tt.want {
				t.Errorf("seqNewer(%d, %d) = %v", tt.a, tt.b, got)
			}
		})
	}
}

func TestTSNewer(t *testing.T) {
	tests := []struct {
		name string
		a, b uint32
		want bool
	}{
		{"later", 3000, 0, true},
		{"earlier", 0, 3000, false},
		{"equal", 5, 5, false},
		{"across the wrap", 100, 4294967000, true},
		{"before the wrap", 4294967000, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tsNewer(tt.a, tt.b); got != tt.want {
				t.Errorf("tsNewer(%d, %d) = %v", tt.a, tt.b, got)
			}
		})
	}
}

// in is one incoming packet for the munger tables.
type in struct {
	seq    uint16
	ts     uint32
	at     int64 // ns
	rebase bool  // the source changed before this packet
}

func TestMunger(t *testing.T) {
	const ms = int64(1e6)
	tests := []struct {
		name     string
		startSeq uint16
		startTS  uint32
		packets  []in
		wantSeq  []uint16
		wantTS   []uint32
	}{
		{
			name: "first packet lands on the start", startSeq: 100, startTS: 5000,
			packets: []in{{seq: 9000, ts: 70000, rebase: true}, {seq: 9001, ts: 73000}},
			wantSeq: []uint16{100, 101}, wantTS: []uint32{5000, 8000},
		},
		{
			name: "sequence wraps", startSeq: 65534, startTS: 0,
			packets: []in{{seq: 10, ts: 0, rebase: true}, {seq: 11, ts: 1}, {seq: 12, ts: 2}},
			wantSeq: []uint16{65534, 65535, 0}, wantTS: []uint32{0, 1, 2},
		},
		{
			name: "incoming wraps", startSeq: 500, startTS: 4294967290,
			packets: []in{{seq: 65535, ts: 4294967295, rebase: true}, {seq: 0, ts: 9}},
			wantSeq: []uint16{500, 501}, wantTS: []uint32{4294967290, 4},
		},
		{
			name: "late packet keeps its slot", startSeq: 1, startTS: 0,
			packets: []in{{seq: 50, ts: 0, rebase: true}, {seq: 52, ts: 6}, {seq: 51, ts: 3}, {seq: 53, ts: 9}},
			wantSeq: []uint16{1, 3, 2, 4}, wantTS: []uint32{0, 6, 3, 9},
		},
		{
			name: "new source continues the stream", startSeq: 10, startTS: 1000,
			packets: []in{
				{seq: 7, ts: 90000, at: 0, rebase: true},
				{seq: 8, ts: 93000, at: 33 * ms},
				{seq: 40000, ts: 12345, at: 66 * ms, rebase: true}, // 33 ms later at 90 kHz: 2970 ticks
				{seq: 40001, ts: 15345, at: 99 * ms},
			},
			wantSeq: []uint16{10, 11, 12, 13}, wantTS: []uint32{1000, 4000, 6970, 9970},
		},
		{
			name: "new source at once still moves time", startSeq: 0, startTS: 0,
			packets: []in{{seq: 1, ts: 10, rebase: true}, {seq: 900, ts: 77, rebase: true}},
			wantSeq: []uint16{0, 1}, wantTS: []uint32{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMunger(tt.startSeq, tt.startTS)
			for i, p := range tt.packets {
				if p.rebase {
					m.rebase(p.seq, p.ts, p.at, 90000)
				}
				seq, ts := m.rewrite(p.seq, p.ts, p.at)
				if seq != tt.wantSeq[i] || ts != tt.wantTS[i] {
					t.Errorf("packet %d: (%d, %d), want (%d, %d)", i, seq, ts, tt.wantSeq[i], tt.wantTS[i])
				}
			}
		})
	}
}
