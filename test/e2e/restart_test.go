package e2e_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/footlight/footlight/internal/servertest"
)

// TestSessionsSurviveRestart: a session interrupted by a restart is ended when the server
// comes back, and every session, participant and event operation still reports it.
func TestSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	p := servertest.StartBinary(t, dir)
	c, ctx := p.Client(), context.Background()
	st, toks := newStage(t, c, "alice", "bob")
	alice, _, err := dialEvents(t, st, toks[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	alice.next()
	bob, _, err := dialEvents(t, st, toks[1].Token)
	if err != nil {
		t.Fatal(err)
	}
	bob.next()
	if err := c.Call(ctx, "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": toks[1].ParticipantID}, nil); err != nil {
		t.Fatal(err)
	}
	var got struct{ Stage stageOut }
	c.Call(ctx, "GetStage", map[string]string{"arn": st.Arn}, &got)
	session := got.Stage.ActiveSessionID
	if session == "" {
		t.Fatal("no active session while alice is connected")
	}
	waitFor(t, "bob to be disconnected", func() bool {
		var evs struct{ Events []struct{ Name string } }
		c.Call(ctx, "ListParticipantEvents", map[string]string{"stageArn": st.Arn, "sessionId": session, "participantId": toks[1].ParticipantID}, &evs)
		return len(evs.Events) == 2
	})
	if err := p.Kill(syscall.SIGTERM); err != nil || p.ExitCode() != 0 {
		t.Fatalf("SIGTERM: %v, exit %d\n%s", err, p.ExitCode(), p.StderrText())
	}

	p = servertest.StartBinary(t, dir)
	c = p.Client()
	c.Call(ctx, "GetStage", map[string]string{"arn": st.Arn}, &got)
	if got.Stage.ActiveSessionID != "" {
		t.Fatalf("after a restart the stage still has session %q", got.Stage.ActiveSessionID)
	}
	checkSessionReport(t, c, st.Arn, session, toks)
	if _, resp, err := dialEvents(t, stageWithEvents(st, p.URL), toks[1].Token); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("bob's revoked token after a restart: err %v", err)
	}
}

// stageWithEvents points a stage's events endpoint at a restarted server's address.
func stageWithEvents(st stageOut, url string) stageOut {
	st.Endpoints.Events = "ws" + url[len("http"):] + "/events"
	return st
}
