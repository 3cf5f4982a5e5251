package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/server"
	"github.com/footlight/footlight/internal/servertest"
)

type tokenOut struct {
	ParticipantID string `json:"participantId"`
	Token         string `json:"token"`
}

type stageOut struct {
	Arn             string `json:"arn"`
	ActiveSessionID string `json:"activeSessionId"`
	Endpoints       struct {
		Events string `json:"events"`
		WHIP   string `json:"whip"`
	} `json:"endpoints"`
}

// newStage creates a stage with one token per userId.
func newStage(t *testing.T, c *servertest.Client, users ...string) (stageOut, []tokenOut) {
	t.Helper()
	cfgs := []any{}
	for _, u := range users {
		cfgs = append(cfgs, map[string]any{"userId": u, "attributes": map[string]string{"role": u + "-role"}})
	}
	var out struct {
		Stage             stageOut   `json:"stage"`
		ParticipantTokens []tokenOut `json:"participantTokens"`
	}
	if err := c.Call(context.Background(), "CreateStage", map[string]any{"name": "e2e", "participantTokenConfigurations": cfgs}, &out); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	return out.Stage, out.ParticipantTokens
}

type message struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type eventsConn struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialEvents connects as IVS clients do: <events>/<stageId>, the token as the subprotocol.
func dialEvents(t *testing.T, st stageOut, tok string) (*eventsConn, *http.Response, error) {
	t.Helper()
	id := st.Arn[strings.LastIndex(st.Arn, "/")+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, st.Endpoints.Events+"/"+id, &websocket.DialOptions{Subprotocols: []string{tok}})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &eventsConn{t: t, ws: ws}, resp, nil
}

func (e *eventsConn) next() message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := e.ws.Read(ctx)
	if err != nil {
		e.t.Fatalf("read events: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// TestEventsDisconnectAndSessions: participants holding tokens from CreateStage join through
// the events websocket; each sees the other; DisconnectParticipant closes the victim's socket
// within a second, everyone hears of it, the token can never connect again; the session,
// participant and event operations report it all, also after a restart.
func TestEventsDisconnectAndSessions(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, func(c *server.Config) { c.DataDir, c.SessionGracePeriod = dir, 200*time.Millisecond })
	c, ctx := s.Client(), context.Background()
	st, toks := newStage(t, c, "alice", "bob")

	alice, _, err := dialEvents(t, st, toks[0].Token)
	if err != nil {
		t.Fatalf("alice connects: %v", err)
	}
	if m := alice.next(); m.Type != "STAGE_STATE" || !strings.Contains(string(m.Payload), `"id":"`+toks[0].ParticipantID+`"`) {
		t.Fatalf("alice's first message: %s %s", m.Type, m.Payload)
	}
	bob, _, err := dialEvents(t, st, toks[1].Token)
	if err != nil {
		t.Fatalf("bob connects: %v", err)
	}
	bob.next() // STAGE_STATE
	if m := alice.next(); m.Type != "PARTICIPANT_JOINED" || !strings.Contains(string(m.Payload), `"userId":"bob"`) || !strings.Contains(string(m.Payload), `"role":"bob-role"`) {
		t.Fatalf("alice did not hear bob join: %s %s", m.Type, m.Payload)
	}
	var got struct{ Stage stageOut }
	c.Call(ctx, "GetStage", map[string]string{"arn": st.Arn}, &got)
	session := got.Stage.ActiveSessionID
	if len(session) != 16 || !strings.HasPrefix(session, "st-") {
		t.Fatalf("activeSessionId with two participants = %q", session)
	}

	start := time.Now()
	if err := c.Call(ctx, "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": toks[1].ParticipantID, "reason": "test"}, nil); err != nil {
		t.Fatalf("DisconnectParticipant: %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	_, _, err = bob.ws.Read(rctx)
	cancel()
	if websocket.CloseStatus(err) != 4010 {
		t.Fatalf("bob's socket within a second of DisconnectParticipant: %v (after %v)", err, time.Since(start))
	}
	if m := alice.next(); m.Type != "PARTICIPANT_LEFT" || !strings.Contains(string(m.Payload), "PARTICIPANT_DISCONNECTED") {
		t.Fatalf("alice did not hear bob was disconnected: %s %s", m.Type, m.Payload)
	}
	if _, resp, err := dialEvents(t, st, toks[1].Token); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob reconnects with a revoked token: err %v, resp %v", err, resp)
	}
	alice.ws.Close(websocket.StatusNormalClosure, "bye")
	waitFor(t, "the session to end after its grace period", func() bool {
		var g struct{ Stage stageOut }
		c.Call(ctx, "GetStage", map[string]string{"arn": st.Arn}, &g)
		return g.Stage.ActiveSessionID == ""
	})
	s.Node.Stages().Flush()
	checkSessionReport(t, c, st.Arn, session, toks)
}

// checkSessionReport checks what the session operations report of the test's session.
func checkSessionReport(t *testing.T, c *servertest.Client, stageArn, session string, toks []tokenOut) {
	t.Helper()
	ctx := context.Background()
	var sessions struct {
		StageSessions []struct {
			SessionID string  `json:"sessionId"`
			StartTime string  `json:"startTime"`
			EndTime   *string `json:"endTime"`
		} `json:"stageSessions"`
	}
	if err := c.Call(ctx, "ListStageSessions", map[string]string{"stageArn": stageArn}, &sessions); err != nil {
		t.Fatal(err)
	}
	if len(sessions.StageSessions) != 1 || sessions.StageSessions[0].SessionID != session || sessions.StageSessions[0].EndTime == nil {
		t.Fatalf("ListStageSessions = %+v", sessions)
	}
	var parts struct {
		Participants []struct {
			ParticipantID string `json:"participantId"`
			State         string `json:"state"`
		} `json:"participants"`
	}
	c.Call(ctx, "ListParticipants", map[string]any{"stageArn": stageArn, "sessionId": session, "filterByState": "DISCONNECTED"}, &parts)
	if len(parts.Participants) != 2 {
		t.Fatalf("disconnected participants = %+v", parts)
	}
	var p struct {
		Participant struct {
			UserID     string            `json:"userId"`
			Attributes map[string]string `json:"attributes"`
			State      string            `json:"state"`
		} `json:"participant"`
	}
	if err := c.Call(ctx, "GetParticipant", map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": toks[1].ParticipantID}, &p); err != nil {
		t.Fatal(err)
	}
	if p.Participant.UserID != "bob" || p.Participant.Attributes["role"] != "bob-role" || p.Participant.State != "DISCONNECTED" {
		t.Fatalf("GetParticipant(bob) = %+v", p)
	}
	var evs struct {
		Events []struct {
			Name string `json:"name"`
		} `json:"events"`
	}
	c.Call(ctx, "ListParticipantEvents", map[string]string{"stageArn": stageArn, "sessionId": session, "participantId": toks[1].ParticipantID}, &evs)
	if len(evs.Events) != 2 || evs.Events[0].Name != "JOINED" || evs.Events[1].Name != "LEFT" {
		t.Fatalf("bob's events = %+v", evs)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
