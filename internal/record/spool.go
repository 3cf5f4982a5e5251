package record

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The spool is a recording's durable outbox on local disk: state.json, the recording's
// commit record, and pending/, the objects not yet in the store, under their keys relative
// to the recording's prefix. The muxer writes a segment into pending/ and only then lists
// it in state.json, so a segment is "closed" once state.json names it: whatever a crash
// leaves, every closed segment is either in the store or in pending/.

// state is a recording's state.json.
type state struct {
	Bucket        string `json:"bucket"`
	Prefix        string `json:"prefix"`
	StageArn      string `json:"stageArn"`
	SessionID     string `json:"sessionId"` // the session the prefix names
	ParticipantID string `json:"participantId"`
	// Sessions are the participant records (one per stage session) this recording spans.
	Sessions      []string   `json:"sessions"`
	StartedAt     time.Time  `json:"startedAt"`
	EndedAt       *time.Time `json:"endedAt,omitempty"`
	Status        string     `json:"status,omitempty"` // "" while recording, else the final recording_status
	StatusMessage string     `json:"statusMessage,omitempty"`

	HLS           bool      `json:"hls"` // false for mediaTypes NONE
	Sequential    bool      `json:"sequential"`
	Latest        bool      `json:"latest"`
	TargetSeconds int       `json:"targetSeconds"`
	Segments      []segment `json:"segments"`
	Inits         int       `json:"inits"`  // init segments written
	Thumbs        int       `json:"thumbs"` // sequential thumbnails written
	Codecs        string    `json:"codecs,omitempty"`
	Width         int       `json:"width,omitempty"`
	Height        int       `json:"height,omitempty"`
	PeakBitrate   int       `json:"peakBitrate,omitempty"`
}

// segment is one closed HLS segment, <N>.mp4.
type segment struct {
	N             int     `json:"n"`
	Seconds       float64 `json:"seconds"`
	Init          string  `json:"init"`                    // the init segment it needs
	Discontinuity bool    `json:"discontinuity,omitempty"` // it starts a piece or new parameters
}

func (s *state) durationMs() int64 {
	var d float64
	for _, g := range s.Segments {
		d += g.Seconds
	}
	return int64(d*1000 + 0.5)
}

// spool is one recording's directory.
type spool struct{ dir string }

func (sp spool) pendingPath(rel string) string {
	return filepath.Join(sp.dir, "pending", filepath.FromSlash(rel))
}

// put writes an object to upload later, durably.
func (sp spool) put(rel string, body []byte) error {
	return writeFileSync(sp.pendingPath(rel), body)
}

// saveState commits st.
func (sp spool) saveState(st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(sp.dir, "state.json"), b)
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &st, nil
}

// pending lists the objects waiting for upload in upload order: the start event, init
// segments, media segments by number, thumbnails, and last the end event.
func (sp spool) pending() ([]string, error) {
	root := filepath.Join(sp.dir, "pending")
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	sortByUpload(rels)
	return rels, err
}

// sortByUpload sorts relative keys into upload order.
func sortByUpload(rels []string) {
	sort.Slice(rels, func(i, j int) bool {
		ri, ni := uploadRank(rels[i])
		rj, nj := uploadRank(rels[j])
		if ri != rj {
			return ri < rj
		}
		if ni != nj {
			return ni < nj
		}
		return rels[i] < rels[j]
	})
}

// uploadRank orders pending objects; n orders numbered objects within a rank.
func uploadRank(rel string) (rank, n int) {
	base := path.Base(rel)
	num, numErr := strconv.Atoi(strings.TrimSuffix(base, path.Ext(base)))
	switch {
	case rel == keyStarted:
		return 0, 0
	case strings.HasPrefix(rel, hlsRendition+"init"):
		return 1, 0
	case strings.HasPrefix(rel, hlsRendition) && numErr == nil:
		return 2, num
	case rel == keyEnded || rel == keyFailed:
		return 9, 0
	case numErr == nil:
		return 3, num
	}
	return 4, 0
}

func (sp spool) isPending(rel string) bool {
	_, err := os.Stat(sp.pendingPath(rel))
	return err == nil
}

func (sp spool) removePending(rel string) error {
	err := os.Remove(sp.pendingPath(rel))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// tmpPrefix starts the names of files being written; a crash may leave them, unread.
const tmpPrefix = ".tmp-"

// writeFileSync writes a file whole or not at all: a temporary file, fsync, rename, and an
// fsync of the directory so the rename itself survives a crash.
func writeFileSync(name string, body []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
