package store

import "time"

// Tags are a resource's AWS tags.
type Tags map[string]string

// Stage is a stage as stored; its endpoints and active session are derived, not stored.
type Stage struct {
	Arn       string    `json:"arn"`
	Name      string    `json:"name"`
	Recording Recording `json:"autoParticipantRecordingConfiguration"`
	Tags      Tags      `json:"tags"`
	CreatedAt time.Time `json:"createdAt"`
}

// Recording is a stage's individual participant recording configuration, always fully
// defaulted (SPEC §10) so readers never need to know the defaults.
type Recording struct {
	StorageConfigurationArn         string    `json:"storageConfigurationArn"`
	MediaTypes                      []string  `json:"mediaTypes"`
	Thumbnail                       Thumbnail `json:"thumbnailConfiguration"`
	ReconnectWindowSeconds          int       `json:"recordingReconnectWindowSeconds"`
	HLSTargetSegmentDurationSeconds int       `json:"hlsTargetSegmentDurationSeconds"`
	RecordParticipantReplicas       bool      `json:"recordParticipantReplicas"`
}

// Thumbnail is a participant thumbnail configuration.
type Thumbnail struct {
	TargetIntervalSeconds int      `json:"targetIntervalSeconds"`
	Storage               []string `json:"storage"`
	RecordingMode         string   `json:"recordingMode"`
}

// StorageConfiguration names the bucket recordings go to.
type StorageConfiguration struct {
	Arn        string    `json:"arn"`
	Name       string    `json:"name"`
	BucketName string    `json:"bucketName"`
	Tags       Tags      `json:"tags"`
	CreatedAt  time.Time `json:"createdAt"`
}

// EncoderConfiguration is a composition's output encoding.
type EncoderConfiguration struct {
	Arn       string    `json:"arn"`
	Name      string    `json:"name"`
	Video     Video     `json:"video"`
	Tags      Tags      `json:"tags"`
	CreatedAt time.Time `json:"createdAt"`
}

// Video is an encoder configuration's video settings, fully defaulted.
type Video struct {
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	Framerate float64 `json:"framerate"`
	Bitrate   int     `json:"bitrate"`
}

// PublicKey is a customer's imported token-signing key.
type PublicKey struct {
	Arn         string    `json:"arn"`
	Name        string    `json:"name"`
	Material    string    `json:"publicKeyMaterial"`
	Fingerprint string    `json:"fingerprint"`
	Tags        Tags      `json:"tags"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ParticipantToken records a token the server issued (never the token string itself).
type ParticipantToken struct {
	ParticipantID  string            `json:"participantId"`
	StageArn       string            `json:"stageArn"`
	UserID         string            `json:"userId"`
	Attributes     map[string]string `json:"attributes"`
	Capabilities   []string          `json:"capabilities"`
	Duration       int               `json:"duration"`
	ExpirationTime time.Time         `json:"expirationTime"`
	CreatedAt      time.Time         `json:"createdAt"`
}

// StageSession is one session of a stage: from the first join to the grace period after the
// last leave. EndTime is nil while it runs.
type StageSession struct {
	SessionID string     `json:"sessionId"`
	StageArn  string     `json:"stageArn"`
	StartTime time.Time  `json:"startTime"`
	EndTime   *time.Time `json:"endTime,omitempty"`
}

// Participant is one participant of one stage session.
type Participant struct {
	ParticipantID         string            `json:"participantId"`
	StageArn              string            `json:"stageArn"`
	SessionID             string            `json:"sessionId"`
	UserID                string            `json:"userId"`
	State                 string            `json:"state"` // CONNECTED or DISCONNECTED
	FirstJoinTime         time.Time         `json:"firstJoinTime"`
	Attributes            map[string]string `json:"attributes"`
	Published             bool              `json:"published"`
	OSName                string            `json:"osName"`
	OSVersion             string            `json:"osVersion"`
	BrowserName           string            `json:"browserName"`
	BrowserVersion        string            `json:"browserVersion"`
	SDKVersion            string            `json:"sdkVersion"`
	Protocol              string            `json:"protocol"`
	RecordingState        string            `json:"recordingState"`
	RecordingS3BucketName string            `json:"recordingS3BucketName"`
	RecordingS3Prefix     string            `json:"recordingS3Prefix"`
}

// ParticipantEvent is one entry of ListParticipantEvents.
type ParticipantEvent struct {
	StageArn            string    `json:"stageArn"`
	SessionID           string    `json:"sessionId"`
	ParticipantID       string    `json:"participantId"`
	Name                string    `json:"name"`
	EventTime           time.Time `json:"eventTime"`
	RemoteParticipantID string    `json:"remoteParticipantId,omitempty"`
	ErrorCode           string    `json:"errorCode,omitempty"`
}

// LiveWrite is one change of live stage state to persist; exactly one field is set.
type LiveWrite struct {
	Session     *StageSession     // insert or replace
	Participant *Participant      // insert or replace
	Event       *ParticipantEvent // append
}

// ParticipantFilter narrows ListParticipants; at most one field is set (SPEC §9).
type ParticipantFilter struct {
	UserID         *string
	Published      bool // true: only those who published
	State          string
	RecordingState string
}
