package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/server"
	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// stageSessionID returns the stage's activeSessionId ("" when idle).
func stageSessionID(t *testing.T, c *servertest.Client, stageArn string) string {
	t.Helper()
	var got struct{ Stage stageOut }
	if err := c.Call(context.Background(), "GetStage", map[string]string{"arn": stageArn}, &got); err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	return got.Stage.ActiveSessionID
}

type sessionOut struct {
	SessionID string  `json:"sessionId"`
	StartTime string  `json:"startTime"`
	EndTime   *string `json:"endTime"`
}

// TestSessionGracePeriod: a publisher that leaves and comes back within
// --session-grace-period finds the stage's session still running (the same activeSessionId,
// JOINED twice in it); once it leaves for longer than the grace period, the session ends:
// activeSessionId "", and GetStageSession and ListStageSessions show it with its endTime, no
// earlier than the grace period after the last LEFT.
func TestSessionGracePeriod(t *testing.T) {
	const grace = 3 * time.Second
	s := servertest.Start(t, func(c *server.Config) { c.SessionGracePeriod = grace })
	c, ctx := s.Client(), context.Background()
	st, toks := createStage(t, c, tokenConfig{user: "pub"})
	frames := h264Frames(t, 1, 30)
	publish := func() *whiptest.Publisher {
		t.Helper()
		p := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, frames)
		whiptest.WaitConnected(t, p.PC, "publisher")
		return p
	}
	leave := func(p *whiptest.Publisher) {
		t.Helper()
		if r := whiptest.Do(t, http.MethodDelete, p.Location, p.Token, "", ""); r.Status != http.StatusOK {
			t.Fatalf("DELETE: %d %s", r.Status, r.Body)
		}
	}
	id := toks[0].ParticipantID

	first := publish()
	session := activeSession(t, c, st.Arn)
	leave(first)
	waitEvent(t, c, st.Arn, session, id, "LEFT", "", "")
	second := publish() // well within the grace period
	if got := stageSessionID(t, c, st.Arn); got != session {
		t.Fatalf("activeSessionId after rejoining within the grace period = %q, want %q", got, session)
	}
	poll(t, 10*time.Second, "two JOINED events in the session", func() bool {
		n := 0
		for _, e := range participantEvents(t, c, st.Arn, session, id) {
			if e.Name == "JOINED" {
				n++
			}
		}
		return n == 2
	})
	leave(second)
	poll(t, grace+10*time.Second, "the session to end", func() bool { return stageSessionID(t, c, st.Arn) == "" })

	var got struct {
		StageSession sessionOut `json:"stageSession"`
	}
	if err := c.Call(ctx, "GetStageSession", map[string]string{"stageArn": st.Arn, "sessionId": session}, &got); err != nil {
		t.Fatalf("GetStageSession: %v", err)
	}
	if got.StageSession.EndTime == nil {
		t.Fatalf("GetStageSession: the ended session has no endTime: %+v", got.StageSession)
	}
	var list struct {
		StageSessions []sessionOut `json:"stageSessions"`
	}
	if err := c.Call(ctx, "ListStageSessions", map[string]string{"stageArn": st.Arn}, &list); err != nil {
		t.Fatalf("ListStageSessions: %v", err)
	}
	if len(list.StageSessions) != 1 || list.StageSessions[0].SessionID != session || list.StageSessions[0].EndTime == nil {
		t.Fatalf("ListStageSessions = %+v, want the one session, ended", list.StageSessions)
	}
	var evs struct {
		Events []struct {
			Name      string `json:"name"`
			EventTime string `json:"eventTime"`
		} `json:"events"`
	}
	if err := c.Call(ctx, "ListParticipantEvents", map[string]string{"stageArn": st.Arn, "sessionId": session, "participantId": id}, &evs); err != nil {
		t.Fatalf("ListParticipantEvents: %v", err)
	}
	lastLeft := ""
	for _, e := range evs.Events {
		if e.Name == "LEFT" {
			lastLeft = e.EventTime
		}
	}
	left, err1 := time.Parse(time.RFC3339, lastLeft)
	ended, err2 := time.Parse(time.RFC3339, *got.StageSession.EndTime)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("times: %v", err)
	}
	// The API gives whole seconds: a second of slack.
	if d := ended.Sub(left); d < grace-time.Second {
		t.Errorf("the session ended %v after the last LEFT, before the %v grace period", d, grace)
	}
}

// TestListParticipantsFilters: ListParticipants takes one filter at a time (SPEC:
// "Only one of ... can be provided per request"): two at once are a ValidationException;
// filterByUserId and filterByPublished each pick the right participants of a session with a
// publisher and a subscriber.
func TestListParticipantsFilters(t *testing.T) {
	s := servertest.Start(t, nil)
	c, ctx := s.Client(), context.Background()
	st, toks := createStage(t, c, tokenConfig{user: "alice"}, tokenConfig{user: "bob", caps: []string{"SUBSCRIBE"}})
	pub := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, h264Frames(t, 1, 30))
	whiptest.WaitConnected(t, pub.PC, "alice")
	sub := startSubscriber(t, st.Endpoints.WHIP, pub.ID, toks[1].Token)
	whiptest.WaitConnected(t, sub.PC, "bob")
	session := activeSession(t, c, st.Arn)
	waitEvent(t, c, st.Arn, session, toks[1].ParticipantID, "SUBSCRIBE_STARTED", pub.ID, "")
	list := func(filters map[string]any) ([]string, error) {
		in := map[string]any{"stageArn": st.Arn, "sessionId": session}
		for k, v := range filters {
			in[k] = v
		}
		var out struct {
			Participants []struct {
				ParticipantID string `json:"participantId"`
			} `json:"participants"`
		}
		err := c.Call(ctx, "ListParticipants", in, &out)
		var ids []string
		for _, p := range out.Participants {
			ids = append(ids, p.ParticipantID)
		}
		slices.Sort(ids)
		return ids, err
	}
	both := []string{toks[0].ParticipantID, toks[1].ParticipantID}
	slices.Sort(both)
	for _, tt := range []struct {
		name    string
		filters map[string]any
		want    []string
	}{
		{"no filter", nil, both},
		{"filterByUserId alice", map[string]any{"filterByUserId": "alice"}, []string{toks[0].ParticipantID}},
		{"filterByUserId bob", map[string]any{"filterByUserId": "bob"}, []string{toks[1].ParticipantID}},
		{"filterByUserId nobody", map[string]any{"filterByUserId": "carol"}, nil},
		{"filterByPublished", map[string]any{"filterByPublished": true}, []string{toks[0].ParticipantID}},
		{"filterByState CONNECTED", map[string]any{"filterByState": "CONNECTED"}, both},
	} {
		got, err := list(tt.filters)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	for _, two := range []map[string]any{
		{"filterByUserId": "alice", "filterByPublished": true},
		{"filterByUserId": "alice", "filterByState": "CONNECTED"},
		{"filterByPublished": true, "filterByRecordingState": "ACTIVE"},
	} {
		_, err := list(two)
		var apiErr *servertest.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Code != "ValidationException" {
			t.Errorf("ListParticipants with %v: %v, want a 400 ValidationException", two, err)
		}
	}
}

// TestDeleteStageClosesMedia: DeleteStage with a live publisher and subscriber closes both
// PeerConnections within a second, and a third participant's events websocket gets
// STAGE_DELETED, then the close code 4009 (docs/EVENTS.md).
func TestDeleteStageClosesMedia(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "pub"}, tokenConfig{user: "sub", caps: []string{"SUBSCRIBE"}}, tokenConfig{user: "watcher"})
	watcher, _, err := dialEvents(t, st, toks[2].Token)
	if err != nil {
		t.Fatalf("watcher's events websocket: %v", err)
	}
	if m := watcher.next(); m.Type != "STAGE_STATE" {
		t.Fatalf("watcher's first message: %s", m.Type)
	}
	pub := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, h264Frames(t, 3, 30))
	sub := startSubscriber(t, st.Endpoints.WHIP, pub.ID, toks[1].Token)
	whiptest.WaitConnected(t, pub.PC, "publisher")
	whiptest.WaitConnected(t, sub.PC, "subscriber")
	poll(t, 10*time.Second, "media at the subscriber", func() bool {
		f, a := sub.Counts()
		return f >= 10 && a >= 10
	})
	var mu sync.Mutex
	left := map[string]time.Time{}
	for name, pc := range map[string]*webrtc.PeerConnection{"publisher": pub.PC, "subscriber": sub.PC} {
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected || s == webrtc.PeerConnectionStateConnecting || s == webrtc.PeerConnectionStateNew {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, ok := left[name]; !ok {
				left[name] = time.Now()
			}
		})
	}

	start := time.Now()
	if err := c.Call(context.Background(), "DeleteStage", map[string]string{"arn": st.Arn}, nil); err != nil {
		t.Fatalf("DeleteStage: %v", err)
	}
	for _, name := range []string{"publisher", "subscriber"} {
		var at time.Time
		poll(t, 10*time.Second, name+"'s PeerConnection to close", func() bool {
			mu.Lock()
			defer mu.Unlock()
			var ok bool
			at, ok = left[name]
			return ok
		})
		if d := at.Sub(start); d > time.Second {
			t.Errorf("the %s's PeerConnection left connected %v after DeleteStage, want within a second", name, d)
		}
	}
	for {
		m := watcher.next()
		if m.Type == "STAGE_DELETED" {
			break
		}
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err = watcher.ws.Read(rctx)
	if websocket.CloseStatus(err) != 4009 {
		t.Errorf("after STAGE_DELETED the events websocket ended with %v, want close code 4009", err)
	}
}

// TestParticipantClientFacts: GetParticipant reports the browser and OS of the User-Agent
// the WHIP request carried.
func TestParticipantClientFacts(t *testing.T) {
	const chromeOnMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36"
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "mac"})
	pub := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[0].ParticipantID, toks[0].Token, h264Frames(t, 1, 30))
	r := whiptest.Do(t, http.MethodPost, st.Endpoints.WHIP, pub.Token, "application/sdp", whiptest.GatheredOffer(t, pub.PC), "User-Agent", chromeOnMac)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	if err := pub.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r.Body}); err != nil {
		t.Fatal(err)
	}
	pub.Location = whiptest.Resolve(t, st.Endpoints.WHIP, r.Header.Get("Location"))
	pub.Run()
	whiptest.WaitConnected(t, pub.PC, "publisher")
	session := activeSession(t, c, st.Arn)
	s.Node.Stages().Flush()
	var got struct {
		Participant struct {
			BrowserName    string `json:"browserName"`
			BrowserVersion string `json:"browserVersion"`
			OSName         string `json:"osName"`
			OSVersion      string `json:"osVersion"`
			Protocol       string `json:"protocol"`
		} `json:"participant"`
	}
	in := map[string]string{"stageArn": st.Arn, "sessionId": session, "participantId": pub.ID}
	if err := c.Call(context.Background(), "GetParticipant", in, &got); err != nil {
		t.Fatalf("GetParticipant: %v", err)
	}
	p := got.Participant
	if p.BrowserName != "Chrome" || p.BrowserVersion != "124.0.6367.91" || p.OSName != "Mac OS" || p.OSVersion != "10.15.7" || p.Protocol != "WHIP" {
		t.Errorf("GetParticipant = %+v, want Chrome 124.0.6367.91 on Mac OS 10.15.7 over WHIP", p)
	}
}
