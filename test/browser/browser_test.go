package browser_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// playing is what console_two_pages.mjs measured of one page watching the other.
type playing struct {
	Width        int     `json:"width"`
	Playing      bool    `json:"playing"`
	FirstFrameMs int     `json:"firstFrameMs"`
	Trace        [][]any `json:"trace"`
	Video        struct {
		FramesDecoded int    `json:"framesDecoded"`
		FrameWidth    int    `json:"frameWidth"`
		MimeType      string `json:"mimeType"`
	} `json:"video"`
	Audio struct {
		PacketsReceived int    `json:"packetsReceived"`
		MimeType        string `json:"mimeType"`
	} `json:"audio"`
}

// TestConsoleTwoPages: two consoles join one stage (one pasting its token, one from the URL
// fragment on a phone-size window), both publish, and each plays the other's video and audio
// (checked in the page: videoWidth, framesDecoded and inbound audio packets rising) while the
// API reports both as published; mute reaches the other side; when one leaves, the other's
// grid drops it within 5 s. Screenshots: test-artifacts/browser/console-*.png.
func TestConsoleTwoPages(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, "browser-console",
		tokenConfig{UserID: "alice", Attributes: map[string]string{"displayName": "Alice Liddell", "role": "host"}},
		tokenConfig{UserID: "bob", Attributes: map[string]string{"displayName": "Bob"}})
	alice, bob := toks[0], toks[1]
	sc := startScenario(t, "console_two_pages.mjs", map[string]any{
		"url": s.URL, "alice": alice, "bob": bob, "artifacts": artifacts(t),
	})

	sc.expect("publishing")
	session := activeSession(t, c, st.Arn)
	for _, p := range []token{alice, bob} {
		poll(t, 10*time.Second, p.UserID+" published and connected per GetParticipant", func() bool {
			got := getParticipant(t, c, st.Arn, session, p.ParticipantID)
			return got.Published && got.State == "CONNECTED"
		})
	}
	sc.send("checked", nil)

	var seen struct {
		AliceSees playing `json:"aliceSees"`
		BobSees   playing `json:"bobSees"`
	}
	sc.expect("playing").decode(t, &seen)
	for who, p := range map[string]playing{"alice watching bob": seen.AliceSees, "bob watching alice": seen.BobSees} {
		if p.Width <= 0 || !p.Playing || p.Video.FramesDecoded <= 0 || p.Audio.PacketsReceived <= 0 {
			t.Errorf("%s: %+v, want a playing video with frames and audio packets", who, p)
		}
		t.Logf("%s: %dpx wide, %s, %s, first frame %d ms after the publisher's click on Publish; %v", who, p.Width, p.Video.MimeType, p.Audio.MimeType, p.FirstFrameMs, p.Trace)
	}

	var left struct {
		GridDropMs int `json:"gridDropMs"`
		ListDropMs int `json:"listDropMs"`
	}
	sc.expect("left").decode(t, &left)
	if left.GridDropMs > 5000 {
		t.Errorf("alice's grid dropped bob %d ms after he left, want within 5 s", left.GridDropMs)
	}
	t.Logf("after bob left: alice's grid dropped him in %d ms, her list in %d ms", left.GridDropMs, left.ListDropMs)
	poll(t, 10*time.Second, "bob DISCONNECTED per GetParticipant", func() bool {
		return getParticipant(t, c, st.Arn, session, bob.ParticipantID).State == "DISCONNECTED"
	})
	sc.send("finish", nil)
	sc.finish()
}

// crossOriginPage is the page of TestClientModuleCrossOrigin: it imports the client module from
// Footlight's origin (%s), records every request the module makes, and publishes.
const crossOriginPage = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Another origin</title>
<video autoplay muted playsinline></video>
<script type="module">
import { join, VERSION } from "%s/web/footlight.js";
window.result = { state: "starting" };
window.states = [];
window.requests = [];
const plainFetch = window.fetch;
window.fetch = async (url, init = {}) => {
  const resp = await plainFetch(url, init);
  window.requests.push({ method: init.method || "GET", url: String(url), status: resp.status });
  return resp;
};
try {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const stage = await join(token, { onConnectionState: (e) => window.states.push(e.kind + ":" + e.state) });
  window.stage = stage;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  document.querySelector("video").srcObject = stream;
  await stage.publish(stream);
  window.result = { state: "published", participantId: stage.participantId, origin: location.origin, version: VERSION };
} catch (err) {
  window.result = { state: "failed", code: err.code, message: String(err.message) };
}
</script>
</html>`

// TestClientModuleCrossOrigin: a page served from another origin imports footlight.js from
// Footlight and publishes with it. The API then reports the participant as published and
// connected, a pion subscriber receives its video frames and audio, the module's WHIP POST,
// trickle PATCH and (after leave) DELETE all succeeded across origins, and the participant is
// DISCONNECTED once the page leaves.
func TestClientModuleCrossOrigin(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, "browser-cors", tokenConfig{UserID: "elsewhere"}, tokenConfig{UserID: "pion-viewer", Capabilities: []string{"SUBSCRIBE"}})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, crossOriginPage, s.URL)
	}))
	t.Cleanup(other.Close)
	if other.URL == s.URL {
		t.Fatalf("the page's server has Footlight's origin %s", s.URL)
	}
	sc := startScenario(t, "cross_origin.mjs", map[string]any{"pageURL": other.URL + "/", "token": toks[0].Token})

	var pub struct {
		ParticipantID string   `json:"participantId"`
		Origin        string   `json:"origin"`
		Version       string   `json:"version"`
		States        []string `json:"states"`
	}
	sc.expect("published").decode(t, &pub)
	if pub.ParticipantID != toks[0].ParticipantID || pub.Origin != other.URL {
		t.Fatalf("the page published as %s from %s, want %s from %s", pub.ParticipantID, pub.Origin, toks[0].ParticipantID, other.URL)
	}
	t.Logf("footlight.js %s published from %s to %s; states %v", pub.Version, pub.Origin, s.URL, pub.States)
	session := activeSession(t, c, st.Arn)
	poll(t, 10*time.Second, "ListParticipants showing the page's participant published", func() bool {
		for _, p := range listParticipants(t, c, st.Arn, session) {
			if p.ParticipantID == pub.ParticipantID {
				return p.Published && p.State == "CONNECTED"
			}
		}
		return false
	})
	if got := getParticipant(t, c, st.Arn, session, pub.ParticipantID); !got.Published || got.UserID != "elsewhere" {
		t.Errorf("GetParticipant = %+v, want published user elsewhere", got)
	}

	// The media really flows: a pion viewer gets Chromium's frames and audio.
	viewer := whiptest.Subscribe(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), st.Endpoints["whip"], pub.ParticipantID, toks[1].Token)
	poll(t, 20*time.Second, "the pion viewer receiving video frames and audio", func() bool {
		frames, audio := viewer.Counts()
		return frames > 10 && audio > 10
	})
	video, _ := viewer.Snapshot()
	t.Logf("pion viewer: %s, keyframe %v, %d frames", video.Mime, video.Keyframe, video.Markers)
	if !video.Keyframe {
		t.Errorf("the viewer's video never carried an H.264 keyframe (%s)", video.Mime)
	}

	sc.send("leave", nil)
	var left struct {
		Left     bool `json:"left"`
		Requests []struct {
			Method string `json:"method"`
			URL    string `json:"url"`
			Status int    `json:"status"`
		} `json:"requests"`
	}
	sc.expect("left").decode(t, &left)
	// Each of the module's requests crossed origins; each must have been answered as WHIP says.
	want := map[string]int{http.MethodPost: http.StatusCreated, http.MethodPatch: http.StatusNoContent, http.MethodDelete: http.StatusOK}
	seen := map[string]int{}
	for _, r := range left.Requests {
		if !strings.HasPrefix(r.URL, s.URL+"/whip/") {
			t.Errorf("the module requested %s %s, outside %s/whip/", r.Method, r.URL, s.URL)
		}
		if want[r.Method] != r.Status {
			t.Errorf("%s %s answered %d across origins, want %d", r.Method, r.URL, r.Status, want[r.Method])
		}
		seen[r.Method]++
	}
	if seen[http.MethodPost] != 1 || seen[http.MethodPatch] == 0 || seen[http.MethodDelete] != 1 || !left.Left {
		t.Errorf("the module's requests were %v (left %v), want one POST, trickle PATCHes and one DELETE", seen, left.Left)
	}
	poll(t, 10*time.Second, "the page's participant DISCONNECTED after leave", func() bool {
		return getParticipant(t, c, st.Arn, session, pub.ParticipantID).State == "DISCONNECTED"
	})
	sc.send("finish", nil)
	sc.finish()
}

// TestConsoleRefusals: the console says clearly why a token cannot do what is asked: not a
// token, expired (a customer-signed token whose exp has passed, which the server refuses too),
// a subscribe-only token pressing Publish (told from the token, without opening the camera;
// and the client module's own publish gets the server's 403, recorded as PUBLISH_ERROR
// INSUFFICIENT_CAPABILITIES), and a participant removed with DisconnectParticipant, both
// while on the stage and when it tries to come back. Screenshots: refusal-*.png.
func TestConsoleRefusals(t *testing.T) {
	s := servertest.Start(t, nil)
	c, ctx := s.Client(), context.Background()
	st, toks := createStage(t, c, "browser-refusals",
		tokenConfig{UserID: "viewer-only", Capabilities: []string{"SUBSCRIBE"}},
		tokenConfig{UserID: "kicked"})
	viewer, kicked := toks[0], toks[1]
	expired := selfSignedToken(t, c, st, "customerLate", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	// The server agrees the token is expired: the page's own reading of exp is not the only check.
	if r := whiptest.Do(t, http.MethodPost, st.Endpoints["whip"], expired, "application/sdp", "v=0\r\n"); r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "expired") {
		t.Fatalf("the server answered the expired token with %d %q, want 401 token expired", r.Status, r.Body)
	}
	sc := startScenario(t, "refusals.mjs", map[string]any{
		"url": s.URL, "expired": map[string]string{"token": expired}, "viewer": viewer, "kicked": kicked, "artifacts": artifacts(t),
	})

	sc.expect("joined")
	session := activeSession(t, c, st.Arn)
	waitEvent(t, c, st.Arn, session, viewer.ParticipantID, "PUBLISH_ERROR", "INSUFFICIENT_CAPABILITIES")
	if err := c.Call(ctx, "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": kicked.ParticipantID, "reason": "browser test"}, nil); err != nil {
		t.Fatalf("DisconnectParticipant: %v", err)
	}
	sc.send("disconnected", nil)
	var got struct{ Messages map[string]string }
	sc.expect("messages").decode(t, &got)
	for _, k := range []string{"malformed", "expired", "noPublish", "moduleNoPublish", "kicked", "revoked"} {
		t.Logf("%s: %q", k, got.Messages[k])
	}
	sc.finish()
}

// selfSignedToken signs a participant token for st with a P-384 key imported with
// ImportPublicKey (kid = the key's ARN), as a customer's backend would.
func selfSignedToken(t *testing.T, c *servertest.Client, st stage, jti string, iat, exp time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var imported struct {
		PublicKey struct{ Arn string } `json:"publicKey"`
	}
	material := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := c.Call(context.Background(), "ImportPublicKey", map[string]any{"publicKeyMaterial": material, "name": "browser-" + jti}, &imported); err != nil {
		t.Fatalf("ImportPublicKey: %v", err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"exp": exp.Unix(), "iat": iat.Unix(), "jti": jti,
		"resource": st.Arn, "topic": st.Arn[strings.LastIndex(st.Arn, "/")+1:],
		"events_url": st.Endpoints["events"], "whip_url": st.Endpoints["whip"],
		"user_id": jti, "attributes": map[string]string{},
		"capabilities": map[string]bool{"allow_publish": true, "allow_subscribe": true}, "version": "1.0",
	})
	tok.Header["kid"] = imported.PublicKey.Arn
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestStagesPage: the operators' page, signing SigV4 in Chromium with WebCrypto, lists the
// stage with its active session and the participant a console keeps on it, follows a later
// participant joining and the first leaving without a reload, and shows the stage's endpoints
// (GetStage) and sessions (ListStageSessions). Screenshots: stages*.png.
func TestStagesPage(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	createStage(t, c, "an-idle-stage")
	st, toks := createStage(t, c, "browser-ops",
		tokenConfig{UserID: "first-on-stage", Attributes: map[string]string{"displayName": "First"}},
		tokenConfig{UserID: "late-joiner"})
	first, late := toks[0], toks[1]
	keys := map[string]string{"accessKeyId": s.AccessKeyID, "secretAccessKey": s.SecretAccessKey, "region": s.Region}
	sc := startScenario(t, "stages_page.mjs", map[string]any{
		"url": s.URL, "keys": keys, "stageArn": st.Arn, "whip": st.Endpoints["whip"],
		"first": first, "late": late, "artifacts": artifacts(t),
	})
	var listed struct{ Head, FirstRow string }
	sc.expect("listed").decode(t, &listed)
	session := activeSession(t, c, st.Arn)
	if !strings.Contains(listed.Head, "browser-ops") || !strings.Contains(listed.Head, session) {
		t.Errorf("the stage's heading on /stages is %q, want its name and active session %s", listed.Head, session)
	}
	if !strings.Contains(listed.FirstRow, first.ParticipantID) {
		t.Errorf("the participant's row is %q, want its id %s", listed.FirstRow, first.ParticipantID)
	}
	sc.send("listed-checked", map[string]any{"sessionId": session})
	t.Logf("/stages listed %q with %q", listed.Head, listed.FirstRow)
	sc.expect("details")
	sc.finish()
}

// TestConsoleFollowsPublisherRestart: when a publisher's token publishes again from elsewhere
// (a pion publisher here), the server ends the first publish and the subscriptions to it. The
// first publisher's console says its publishing stopped; the viewer's console follows by
// itself (it sees the participant publish again and subscribes anew) and plays the new stream.
func TestConsoleFollowsPublisherRestart(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, "browser-restart", tokenConfig{UserID: "alice"}, tokenConfig{UserID: "bob"})
	sc := startScenario(t, "publisher_restart.mjs", map[string]any{
		"url": s.URL, "alice": toks[0], "bob": toks[1], "artifacts": artifacts(t),
	})
	sc.expect("watching")
	// A size Chromium's fake camera never takes, so the viewer's frames tell which stream it plays.
	frames := whiptest.EncodeH264(t, t.TempDir(), whiptest.H264{Size: "352x288", Seconds: 2, GOP: 30})
	p := whiptest.NewPublisher(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), toks[1].ParticipantID, toks[1].Token, frames)
	p.Location = whiptest.Connect(t, p.PC, st.Endpoints["whip"], toks[1].Token).Location
	p.Run()
	sc.send("replaced", nil)
	var renewed struct {
		Notice string   `json:"notice"`
		States []string `json:"states"`
		Video  struct {
			FramesDecoded int `json:"framesDecoded"`
			Width         int `json:"width"`
		} `json:"video"`
	}
	sc.expect("followed").decode(t, &renewed)
	t.Logf("bob's console: %q; alice's subscription: %v; then %d frames decoded, %d px wide", renewed.Notice, renewed.States, renewed.Video.FramesDecoded, renewed.Video.Width)
	if renewed.Video.Width != 352 {
		t.Errorf("alice plays bob at %d px, want the pion stream's 352", renewed.Video.Width)
	}
	sc.finish()
}

// TestDocsExamplePage: the complete example page of docs/CLIENT.md works as printed (only its
// import URL is pointed at this server): served from another origin, one copy publishes and
// another lists it live and plays its video.
func TestDocsExamplePage(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CLIENT.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### A complete page.*?```html\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/CLIENT.md has no html block under \"A complete page\"")
	}
	s := servertest.Start(t, nil)
	const printed = "http://localhost:8080/web/footlight.js"
	if !bytes.Contains(m[1], []byte(printed)) {
		t.Fatalf("the example page does not import %s", printed)
	}
	page := bytes.ReplaceAll(m[1], []byte(printed), []byte(s.URL+"/web/footlight.js"))
	_, toks := createStage(t, s.Client(), "browser-docs", tokenConfig{UserID: "docs-publisher"}, tokenConfig{UserID: "docs-viewer"})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	}))
	t.Cleanup(other.Close)
	sc := startScenario(t, "docs_example.mjs", map[string]any{"pageURL": other.URL + "/page.html", "publisher": toks[0], "viewer": toks[1]})
	var played struct {
		Width  int    `json:"width"`
		People string `json:"people"`
	}
	sc.expect("played").decode(t, &played)
	t.Logf("the example page played %d px of video; its list: %q", played.Width, played.People)
	sc.finish()
}

// iceRetryPage publishes with a first connection that cannot have a candidate (relay-only
// without TURN), and, with ?recover=true, clears that when the client says it reconnects.
const iceRetryPage = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>ICE retry</title>
<script type="module">
import { join } from "%s/web/footlight.js";
window.result = { state: "starting" };
window.states = [];
window.requests = [];
const plainFetch = window.fetch;
window.fetch = async (url, init = {}) => {
  const resp = await plainFetch(url, init);
  window.requests.push({ method: init.method || "GET", url: String(url), status: resp.status });
  return resp;
};
const recover = new URLSearchParams(location.search).get("recover") === "true";
try {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const stage = await join(token, {
    rtcConfiguration: { iceTransportPolicy: "relay" },
    connectTimeout: 6000, // without a candidate Chromium never says "failed": it waits
    onConnectionState: (e) => {
      window.states.push(e.kind + ":" + e.state);
      if (recover && e.state === "reconnecting") {
        stage.rtcConfiguration = {};
      }
    },
  });
  window.stage = stage;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  await stage.publish(stream);
  window.result = { state: "published", participantId: stage.participantId };
} catch (err) {
  window.result = { state: "failed", code: err.code, message: String(err.message) };
}
</script>
</html>`

// TestClientModuleRetriesICEFailure: a publication whose connection cannot succeed (relay-only
// without TURN: no candidate at all, so ICE never connects and the connect timeout calls it an
// ICE failure) is retried once with a new WHIP session: when the retry can connect, the
// publication goes live (a pion viewer receives it) and the failed session was DELETEd; when it
// cannot, publish rejects with ice-failed after exactly two attempts.
func TestClientModuleRetriesICEFailure(t *testing.T) {
	s := servertest.Start(t, nil)
	c := s.Client()
	st, toks := createStage(t, c, "browser-ice", tokenConfig{UserID: "fails"}, tokenConfig{UserID: "recovers"}, tokenConfig{UserID: "viewer", Capabilities: []string{"SUBSCRIBE"}})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, iceRetryPage, s.URL)
	}))
	t.Cleanup(other.Close)
	sc := startScenario(t, "ice_retry.mjs", map[string]any{"pageURL": other.URL + "/", "fails": toks[0].Token, "recovers": toks[1].Token})

	type attempt struct {
		Result struct {
			State, Code, Message string
		} `json:"result"`
		States   []string `json:"states"`
		Requests []struct {
			Method string `json:"method"`
			Status int    `json:"status"`
		} `json:"requests"`
	}
	posts := func(a attempt) (n int) {
		for _, r := range a.Requests {
			if r.Method == http.MethodPost && r.Status == http.StatusCreated {
				n++
			}
		}
		return n
	}
	var failed attempt
	sc.expect("failed").decode(t, &failed)
	t.Logf("without recovery: %+v, states %v, %d WHIP sessions", failed.Result, failed.States, posts(failed))
	if failed.Result.State != "failed" || failed.Result.Code != "ice-failed" || posts(failed) != 2 ||
		!slices.Equal(failed.States, []string{"publish:connecting", "publish:reconnecting"}) {
		t.Errorf("a publication whose ICE cannot succeed: %+v, states %v, %d sessions; want ice-failed after one retry", failed.Result, failed.States, posts(failed))
	}
	sc.send("next", nil)

	var recovered attempt
	sc.expect("recovered").decode(t, &recovered)
	t.Logf("with recovery: %+v, states %v, requests %+v", recovered.Result, recovered.States, recovered.Requests)
	if recovered.Result.State != "published" || posts(recovered) != 2 ||
		!slices.Equal(recovered.States, []string{"publish:connecting", "publish:reconnecting", "publish:connected"}) {
		t.Fatalf("a publication whose retry can connect: %+v, states %v, %d sessions; want published on the retry", recovered.Result, recovered.States, posts(recovered))
	}
	deleted := false
	for _, r := range recovered.Requests {
		deleted = deleted || r.Method == http.MethodDelete && r.Status == http.StatusOK
	}
	if !deleted {
		t.Errorf("the failed first session was not DELETEd: %+v", recovered.Requests)
	}
	viewer := whiptest.Subscribe(t, whiptest.NewPeer(t, whiptest.PeerOptions{}), st.Endpoints["whip"], toks[1].ParticipantID, toks[2].Token)
	poll(t, 20*time.Second, "the pion viewer receiving the retried publication", func() bool {
		frames, audio := viewer.Counts()
		return frames > 10 && audio > 10
	})
	sc.send("next", nil)
	sc.finish()
}
