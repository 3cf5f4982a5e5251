package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// TestThreePublishersFiveSubscribers: three publishers send H.264 and Opus through the real
// server; five subscribers each watch all three (one subscription PeerConnection per
// publisher). Every subscription gets both tracks of the right publisher, in order; its
// video depacketizes into a stream ffmpeg decodes without an error, and its audio is the
// publisher's ffmpeg-encoded Opus packets, byte for byte and in order. The API then reports
// the eight participants, who published, and each subscriber's SUBSCRIBE_STARTED events.
func TestThreePublishersFiveSubscribers(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	var cfgs []tokenConfig
	for i := range 3 {
		cfgs = append(cfgs, tokenConfig{user: fmt.Sprintf("pub%d", i), caps: []string{"PUBLISH", "SUBSCRIBE"}})
	}
	for i := range 5 {
		cfgs = append(cfgs, tokenConfig{user: fmt.Sprintf("sub%d", i), caps: []string{"SUBSCRIBE"}})
	}
	st, toks := createStage(t, c, cfgs...)
	whip := st.Endpoints.WHIP
	frames := h264Frames(t, 3, 30)

	// Real Opus, a different tone per publisher: each subscription must carry its
	// publisher's packets, byte for byte.
	var pubs []*whiptest.Publisher
	var tones [][][]byte
	for i := range 3 {
		tones = append(tones, opusTone(t, 440+110*i))
		pubs = append(pubs, startPublisherAudio(t, whip, toks[i].ParticipantID, toks[i].Token, frames, tones[i]))
	}
	for _, p := range pubs {
		whiptest.WaitConnected(t, p.PC, "publisher "+p.ID)
	}
	// subs[i][j]: subscriber i watching publisher j.
	subs := make([][]*whiptest.Subscriber, 5)
	for i := range 5 {
		tok := toks[3+i]
		for _, p := range pubs {
			subs[i] = append(subs[i], startSubscriber(t, whip, p.ID, tok.Token))
		}
	}
	const wantFrames, wantAudio = 60, 50
	for i := range subs {
		for j, sub := range subs[i] {
			poll(t, 30*time.Second, fmt.Sprintf("subscriber %d: %d video frames and %d audio packets of publisher %d", i, wantFrames, wantAudio, j), func() bool {
				f, a := sub.Counts()
				return f >= wantFrames && a >= wantAudio
			})
		}
	}

	for i := range subs {
		for j, sub := range subs[i] {
			name := fmt.Sprintf("sub%d-pub%d", i, j)
			video, audio := sub.Snapshot()
			if video.StreamID != pubs[j].ID || audio.StreamID != pubs[j].ID {
				t.Errorf("%s: tracks of streams %q (video) and %q (audio), want the publisher's id %q", name, video.StreamID, audio.StreamID, pubs[j].ID)
			}
			vgaps := whiptest.CheckInOrder(t, name+" video", video.Seqs)
			agaps := whiptest.CheckInOrder(t, name+" audio", audio.Seqs)
			checkAudioPayloads(t, name, tones[j], audio)
			if vgaps > 0 || agaps > 0 {
				t.Logf("%s: %d video and %d audio sequence gaps (losses)", name, vgaps, agaps)
			}
			if !whiptest.IsH264Keyframe(video.Payloads[0]) {
				t.Errorf("%s: the first video packet does not start a keyframe", name)
			}
			annexB := whiptest.Depacketize(t, video.Payloads)
			if n := whiptest.DecodeH264(t, name, annexB); n < wantFrames-1 {
				t.Errorf("%s: ffmpeg decoded %d frames, want at least %d", name, n, wantFrames-1)
			}
		}
	}

	// The API: 8 participants in the session, the 3 publishers published.
	session := activeSession(t, c, st.Arn)
	s.Node.Stages().Flush()
	type part struct {
		ParticipantID string `json:"participantId"`
		State         string `json:"state"`
		Published     bool   `json:"published"`
	}
	var parts []part
	poll(t, 10*time.Second, "ListParticipants to show 8 participants and 3 publishers", func() bool {
		var out struct {
			Participants []part `json:"participants"`
		}
		if err := c.Call(context.Background(), "ListParticipants", map[string]any{"stageArn": st.Arn, "sessionId": session}, &out); err != nil {
			t.Fatalf("ListParticipants: %v", err)
		}
		parts = out.Participants
		published := 0
		for _, p := range parts {
			if p.Published {
				published++
			}
		}
		return len(parts) == 8 && published == 3
	})
	byID := map[string]part{}
	for _, p := range parts {
		byID[p.ParticipantID] = p
	}
	for i, tok := range toks {
		p, ok := byID[tok.ParticipantID]
		if !ok {
			t.Errorf("ListParticipants lacks %s (%s): %+v", cfgs[i].user, tok.ParticipantID, parts)
			continue
		}
		if want := i < 3; p.Published != want || p.State != "CONNECTED" {
			t.Errorf("participant %s: published %v state %s, want published %v CONNECTED", cfgs[i].user, p.Published, p.State, want)
		}
	}
	for i := range 5 {
		for _, p := range pubs {
			waitEvent(t, c, st.Arn, session, toks[3+i].ParticipantID, "SUBSCRIBE_STARTED", p.ID, "")
		}
	}
}

// TestLateSubscriberKeyframe: the publisher sends an IDR only every 300 frames (10 s); a
// subscriber joining mid-GOP gets a keyframe as its first video frame within a second of its
// POST returning, because the server asks the publisher for one (DESIGN.md, subscribe).
func TestLateSubscriberKeyframe(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "pub"}, tokenConfig{user: "late", caps: []string{"SUBSCRIBE"}})
	frames := h264Frames(t, 10, 300)
	pub := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, frames)
	whiptest.WaitConnected(t, pub.PC, "publisher")
	// Well past the first IDR: only a keyframe request makes the next one come soon.
	poll(t, 15*time.Second, "the publisher to send 60 frames", func() bool { return pub.Sent.Load() >= 60 })
	plisBefore := pub.Plis.Load()

	sub := startSubscriber(t, st.Endpoints.WHIP, pub.ID, toks[1].Token)
	poll(t, 10*time.Second, "the late subscriber's first complete video frame", func() bool {
		f, _ := sub.Counts()
		return f >= 1
	})
	video, _ := sub.Snapshot()
	delay := video.FirstFrameAt.Sub(sub.Posted)
	t.Logf("first video frame complete %v after the subscribe POST returned", delay)
	if !whiptest.IsH264Keyframe(video.Payloads[0]) {
		t.Errorf("the first video packet (NAL type %d) does not start a keyframe", video.Payloads[0][0]&0x1f)
	}
	// The first frame is every packet up to the first with the marker bit.
	first := video.Payloads[:video.FirstFrameEnd]
	annexB := whiptest.Depacketize(t, first)
	types := whiptest.NALTypes(annexB)
	firstSlice := byte(0)
	for _, ty := range types {
		if ty == whiptest.NALIDR || ty == 1 {
			firstSlice = ty
			break
		}
	}
	if firstSlice != whiptest.NALIDR || !bytes.Contains(types, []byte{whiptest.NALSPS}) || !bytes.Contains(types, []byte{whiptest.NALPPS}) {
		t.Errorf("the first video frame is not a keyframe with its parameter sets: NAL types %v", types)
	}
	if delay > time.Second {
		t.Errorf("the first video frame arrived %v after the subscribe POST returned, want within a second", delay)
	}
	if pub.Plis.Load() <= plisBefore {
		t.Errorf("no keyframe request (PLI/FIR) reached the publisher after the subscriber joined")
	}
	poll(t, 10*time.Second, "30 frames at the late subscriber", func() bool {
		f, _ := sub.Counts()
		return f >= 30
	})
	video, _ = sub.Snapshot()
	whiptest.CheckInOrder(t, "late subscriber video", video.Seqs)
	if n := whiptest.DecodeH264(t, "late", whiptest.Depacketize(t, video.Payloads)); n < 29 {
		t.Errorf("ffmpeg decoded %d frames of the late subscriber's video, want at least 29", n)
	}
}

// TestThirteenthPublisherRefused: twelve publishers connect; the thirteenth is refused with
// 403 and a PUBLISH_ERROR (QUOTA_EXCEEDED) event; once one publisher leaves, it may publish.
func TestThirteenthPublisherRefused(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	var cfgs []tokenConfig
	for i := range 12 { // CreateStage takes at most 12 configurations
		cfgs = append(cfgs, tokenConfig{user: fmt.Sprintf("pub%02d", i)})
	}
	st, toks := createStage(t, c, cfgs...)
	toks = append(toks, createToken(t, c, st.Arn, tokenConfig{user: "pub12"}))
	whip := st.Endpoints.WHIP
	frames := h264Frames(t, 1, 30)
	var pubs []*whiptest.Publisher
	for i := range 12 {
		pubs = append(pubs, startPublisher(t, whip, toks[i].ParticipantID, toks[i].Token, frames))
	}
	for _, p := range pubs {
		whiptest.WaitConnected(t, p.PC, "publisher "+p.ID)
	}

	last := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[12].ParticipantID, toks[12].Token, frames)
	offer := whiptest.GatheredOffer(t, last.PC)
	resp := whiptest.PostOffer(t, whip, last.Token, offer)
	if resp.Status != http.StatusForbidden {
		t.Fatalf("13th publisher: %d %q, want 403", resp.Status, resp.Body)
	}
	session := activeSession(t, c, st.Arn)
	waitEvent(t, c, st.Arn, session, last.ID, "PUBLISH_ERROR", "", "QUOTA_EXCEEDED")

	// A publisher leaving makes room.
	if r := whiptest.Do(t, http.MethodDelete, pubs[0].Location, pubs[0].Token, "", ""); r.Status != http.StatusOK {
		t.Fatalf("DELETE a publisher: %d %s", r.Status, r.Body)
	}
	waitEvent(t, c, st.Arn, session, pubs[0].ID, "PUBLISH_STOPPED", "", "")
	again := startPublisher(t, whip, toks[12].ParticipantID, toks[12].Token, frames)
	whiptest.WaitConnected(t, again.PC, "13th publisher after one left")
}

// TestDisconnectClosesMediaWithinASecond: DisconnectParticipant on a publisher closes its
// PeerConnection and its subscriber's subscription within a second, and a third
// participant's events websocket hears PARTICIPANT_LEFT (PARTICIPANT_DISCONNECTED). The
// clients are plain pion peers: pion closes a PeerConnection when the remote's DTLS
// close_notify arrives, so their state shows the server's close. Another publisher on the
// stage stays connected.
func TestDisconnectClosesMediaWithinASecond(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c,
		tokenConfig{user: "victim"}, tokenConfig{user: "viewer", caps: []string{"SUBSCRIBE"}},
		tokenConfig{user: "watcher"}, tokenConfig{user: "bystander"})
	watcher, _, err := dialEvents(t, st, toks[2].Token)
	if err != nil {
		t.Fatalf("watcher's events websocket: %v", err)
	}
	if m := watcher.next(); m.Type != "STAGE_STATE" {
		t.Fatalf("watcher's first message: %s", m.Type)
	}
	frames := h264Frames(t, 3, 30)
	victim := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, frames)
	bystander := startPublisher(t, st.Endpoints.WHIP, toks[3].ParticipantID, toks[3].Token, frames)
	viewer := startSubscriber(t, st.Endpoints.WHIP, victim.ID, toks[1].Token)
	whiptest.WaitConnected(t, victim.PC, "victim")
	whiptest.WaitConnected(t, bystander.PC, "bystander")
	whiptest.WaitConnected(t, viewer.PC, "viewer")
	poll(t, 10*time.Second, "media at the viewer", func() bool {
		f, a := viewer.Counts()
		return f >= 10 && a >= 10
	})

	// Record when each client's PeerConnection leaves "connected".
	var mu sync.Mutex
	left := map[string]time.Time{}
	states := map[string]webrtc.PeerConnectionState{}
	watch := func(name string, pc *webrtc.PeerConnection) {
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			switch s {
			case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				mu.Lock()
				if _, ok := left[name]; !ok {
					left[name], states[name] = time.Now(), s
				}
				mu.Unlock()
			}
		})
	}
	watch("victim", victim.PC)
	watch("viewer", viewer.PC)
	watch("bystander", bystander.PC)
	leftAt := func(name string) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		at, ok := left[name]
		return at, ok
	}

	start := time.Now()
	if err := c.Call(context.Background(), "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": victim.ID, "reason": "e2e"}, nil); err != nil {
		t.Fatalf("DisconnectParticipant: %v", err)
	}
	for _, name := range []string{"victim", "viewer"} {
		poll(t, 10*time.Second, name+"'s PeerConnection to leave connected", func() bool {
			_, ok := leftAt(name)
			return ok
		})
		at, _ := leftAt(name)
		mu.Lock()
		state := states[name]
		mu.Unlock()
		t.Logf("%s's PeerConnection was %s %v after DisconnectParticipant", name, state, at.Sub(start))
		if d := at.Sub(start); d > time.Second {
			t.Errorf("%s's PeerConnection left connected %v after DisconnectParticipant, want within a second", name, d)
		}
	}
	if _, ok := leftAt("bystander"); ok || bystander.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Errorf("the bystander's PeerConnection is %s after another participant was disconnected", bystander.PC.ConnectionState())
	}
	video, audio := viewer.Snapshot()
	if d := video.LastAt.Sub(start); d > time.Second {
		t.Errorf("the viewer got video %v after DisconnectParticipant", d)
	}
	if d := audio.LastAt.Sub(start); d > time.Second {
		t.Errorf("the viewer got audio %v after DisconnectParticipant", d)
	}

	for {
		m := watcher.next()
		if m.Type == "PARTICIPANT_LEFT" && bytes.Contains(m.Payload, []byte(`"id":"`+victim.ID+`"`)) {
			if !bytes.Contains(m.Payload, []byte(`"reason":"PARTICIPANT_DISCONNECTED"`)) {
				t.Errorf("PARTICIPANT_LEFT without reason PARTICIPANT_DISCONNECTED: %s", m.Payload)
			}
			break
		}
	}
	session := activeSession(t, c, st.Arn)
	waitEvent(t, c, st.Arn, session, toks[1].ParticipantID, "SUBSCRIBE_STOPPED", victim.ID, "")
	// The viewer's only connection was the subscription: it left the stage too.
	waitEvent(t, c, st.Arn, session, toks[1].ParticipantID, "LEFT", "", "")
}

// TestTrickleThroughServer: a publisher and a subscriber offer without candidates and send
// them by PATCH to their Location (RFC 9725 §4.3.1). The publisher also ignores the
// server's candidates in the answer, so its connection can only come up through the
// candidates the server learned from the PATCH. Media flows end to end.
func TestTrickleThroughServer(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, tokenConfig{user: "pub"}, tokenConfig{user: "sub", caps: []string{"SUBSCRIBE"}})
	whip := st.Endpoints.WHIP

	// trickle offers without candidates, applies the answer (without its candidates if
	// strip), and PATCHes the client's candidates; it returns the Location.
	trickle := func(pc *webrtc.PeerConnection, u, tok string, strip bool) string {
		t.Helper()
		cands := make(chan *webrtc.ICECandidate, 64)
		pc.OnICECandidate(func(c *webrtc.ICECandidate) { cands <- c })
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		resp := whiptest.PostOffer(t, u, tok, whiptest.WithoutCandidates(offer.SDP))
		if resp.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", u, resp.Status, resp.Body)
		}
		answer := resp.Body
		if strip {
			answer = whiptest.WithoutCandidates(answer)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		loc := whiptest.Resolve(t, u, resp.Header.Get("Location"))
		frag := whiptest.SDPFragOf(t, pc, cands)
		if r := whiptest.Do(t, http.MethodPatch, loc, tok, "application/trickle-ice-sdpfrag", frag, "If-Match", resp.Header.Get("ETag")); r.Status != http.StatusNoContent {
			t.Fatalf("PATCH %s: %d %s", loc, r.Status, r.Body)
		}
		return loc
	}

	frames := h264Frames(t, 3, 30)
	pub := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[0].ParticipantID, toks[0].Token, frames)
	pub.Location = trickle(pub.PC, whip, pub.Token, true)
	whiptest.WaitConnected(t, pub.PC, "trickling publisher")
	pub.Run()

	sub := whiptest.NewSubscriber(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), pub.ID, toks[1].Token)
	sub.Location = trickle(sub.PC, whip+"/subscribe/"+pub.ID, sub.Token, false)
	whiptest.WaitConnected(t, sub.PC, "trickling subscriber")
	poll(t, 15*time.Second, "30 video frames and 25 audio packets at the trickling subscriber", func() bool {
		f, a := sub.Counts()
		return f >= 30 && a >= 25
	})
	video, audio := sub.Snapshot()
	whiptest.CheckInOrder(t, "video", video.Seqs)
	whiptest.CheckInOrder(t, "audio", audio.Seqs)
	if n := whiptest.DecodeH264(t, "trickle", whiptest.Depacketize(t, video.Payloads)); n < 29 {
		t.Errorf("ffmpeg decoded %d frames, want at least 29", n)
	}
}
