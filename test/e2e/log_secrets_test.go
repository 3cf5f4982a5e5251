package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/whiptest"
)

// authRecorder remembers every Authorization header a client sent.
type authRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex // guards values
	seen []string
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	if v := r.Header.Get("Authorization"); v != "" {
		a.seen = append(a.seen, v)
	}
	a.mu.Unlock()
	return a.base.RoundTrip(r)
}

func (a *authRecorder) values() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// recordAuth makes c remember its Authorization headers in rec.
func recordAuth(c *servertest.Client, rec *authRecorder) {
	rec.base = c.HTTP.Transport
	if rec.base == nil {
		rec.base = http.DefaultTransport
	}
	c.HTTP.Transport = rec
}

// TestSecretsNeverLogged runs the real binary at --log-level debug, drives signed calls that
// succeed and are refused (wrong secret, unknown key, tampered body), mints participant tokens
// and uses them on the events websocket and WHIP (accepted and refused), then searches the
// server's stderr for the API secret, the wrong secret, every token and its signature, and
// every Authorization header value sent: none may appear. The log must show the requests and
// refusals happened (so an empty log cannot pass).
func TestSecretsNeverLogged(t *testing.T) {
	p := servertest.StartBinary(t, t.TempDir(), "--log-level", "debug")
	ctx := context.Background()
	rec := &authRecorder{}
	c := p.Client()
	recordAuth(c, rec)

	// Signed calls that succeed, the tag operations' doubly escaped paths included.
	st, toks := createStage(t, c, tokenConfig{user: "publisher"}, tokenConfig{user: "viewer", caps: []string{"SUBSCRIBE"}}, tokenConfig{user: "kicked"})
	_, otherToks := createStage(t, c, tokenConfig{user: "elsewhere"})
	extra := createToken(t, c, st.Arn, tokenConfig{user: "late"})
	if err := c.Do(ctx, http.MethodPost, servertest.TagPath(st.Arn), "", []byte(`{"tags":{"k":"v"}}`), nil); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if err := c.Do(ctx, http.MethodGet, servertest.TagPath(st.Arn), "", nil, nil); err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}

	// Signed calls that are refused.
	const wrongSecret = "wrong-secret-4f1d9c2b7a6e"
	refused := func(what string, err error, code string) {
		t.Helper()
		var apiErr *servertest.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != code {
			t.Fatalf("%s: %v, want 403 %s", what, err, code)
		}
	}
	wrong := p.Client()
	recordAuth(wrong, rec)
	wrong.Creds.SecretAccessKey = wrongSecret
	refused("wrong secret", wrong.Call(ctx, "GetStage", map[string]string{"arn": st.Arn}, nil), "InvalidSignatureException")
	unknown := p.Client()
	recordAuth(unknown, rec)
	unknown.Creds.AccessKeyID = "AKIAUNKNOWNKEY000001"
	refused("unknown key", unknown.Call(ctx, "ListStages", nil, nil), "UnrecognizedClientException")
	refused("tampered body", tamperedCall(t, p, rec, st.Arn), "InvalidSignatureException")

	// Tokens on the events websocket, as a subprotocol and in the query, and on WHIP.
	ev, _, err := dialEvents(t, st, toks[1].Token)
	if err != nil {
		t.Fatalf("events with the viewer's token: %v", err)
	}
	if m := ev.next(); m.Type != "STAGE_STATE" {
		t.Fatalf("first events message %s", m.Type)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ws, _, err := websocket.Dial(dctx, st.Endpoints.Events+"?token="+url.QueryEscape(extra.Token), nil)
	cancel()
	if err != nil {
		t.Fatalf("events with ?token=: %v", err)
	}
	ws.CloseNow()
	pub := startPublisher(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[0].Token, h264Frames(t, 1, 30))
	sub := startSubscriber(t, st.Endpoints.WHIP, toks[0].ParticipantID, toks[1].Token)
	poll(t, 15*time.Second, "the subscriber receives video", func() bool { frames, _ := sub.Counts(); return frames > 0 })

	// Tokens refused: tampered, another stage's, disconnected.
	sig := toks[2].Token[strings.LastIndex(toks[2].Token, ".")+1:]
	tampered := strings.TrimSuffix(toks[2].Token, sig) + strings.Repeat("A", len(sig))
	expectStatus := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}
	expectStatus("WHIP with a tampered token", whiptest.PostOffer(t, st.Endpoints.WHIP, tampered, "v=0").Status, http.StatusUnauthorized)
	expectStatus("WHIP with another stage's token", whiptest.PostOffer(t, st.Endpoints.WHIP, otherToks[0].Token, "v=0").Status, http.StatusForbidden)
	if _, resp, err := dialEvents(t, st, tampered); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("events with a tampered token: %v (response %v), want 401", err, resp)
	}
	if err := c.Call(ctx, "DisconnectParticipant", map[string]string{"stageArn": st.Arn, "participantId": toks[2].ParticipantID, "reason": "test"}, nil); err != nil {
		t.Fatalf("DisconnectParticipant: %v", err)
	}
	if _, resp, err := dialEvents(t, st, toks[2].Token); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("events with a disconnected token: %v (response %v), want 403", err, resp)
	}
	if r := whiptest.Do(t, http.MethodDelete, pub.Location, toks[0].Token, "", ""); r.Status != http.StatusOK {
		t.Errorf("DELETE the publisher's session: %d %s", r.Status, r.Body)
	}

	// The log saw all of it: wait for the lines of the last steps, then search it.
	for _, want := range []string{"level=DEBUG msg=request", "signature refused", "events refused", "media request refused", "connection ended"} {
		poll(t, 10*time.Second, "a "+want+" line in the log", func() bool { return strings.Contains(p.StderrText(), want) })
	}
	logText := p.StderrText()
	secrets := map[string]string{"the API secret": p.SecretAccessKey, "the wrong secret": wrongSecret}
	for _, tok := range append(append(toks, otherToks...), extra) {
		parts := strings.Split(tok.Token, ".")
		if len(parts) != 3 {
			t.Fatalf("token %s is not a compact JWS", tok.ParticipantID)
		}
		secrets["token of "+tok.ParticipantID] = tok.Token
		secrets["token signature of "+tok.ParticipantID] = parts[2]
		secrets["token claims of "+tok.ParticipantID] = parts[1]
	}
	// Logs name a participant by its token's jti instead.
	if !strings.Contains(logText, toks[0].ParticipantID) {
		t.Errorf("the log never names the publisher's participant id %s: the media steps left no trace", toks[0].ParticipantID)
	}
	secrets["the tampered token"] = tampered
	auths := rec.values()
	if len(auths) < 9 { // 6 successes, 3 refusals
		t.Fatalf("recorded %d Authorization headers, want every signed call's", len(auths))
	}
	signature := regexp.MustCompile(`Signature=([0-9a-f]{64})`)
	for i, a := range auths {
		secrets["Authorization header "+a[:min(len(a), 40)]+"…"] = a
		m := signature.FindStringSubmatch(a)
		if m == nil {
			t.Fatalf("Authorization header %d has no signature: %q", i, a)
		}
		secrets["signature of Authorization header "+m[1][:8]+"…"] = m[1]
	}
	for what, s := range secrets {
		if strings.Contains(logText, s) {
			t.Errorf("%s appears in the server's log", what)
		}
	}
	t.Logf("searched %d bytes of debug log for %d secrets (%d Authorization headers)", len(logText), len(secrets), len(auths))
}

// tamperedCall signs a GetStage body and sends another one under that signature.
func tamperedCall(t *testing.T, p *servertest.Process, rec *authRecorder, stageArn string) error {
	t.Helper()
	signed := []byte(`{"arn":"` + stageArn + `"}`)
	sent := []byte(`{"arn":"` + stageArn + `" }`)
	req, err := http.NewRequest(http.MethodPost, p.URL+"/GetStage", bytes.NewReader(signed))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(signed)
	creds := aws.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ivs", p.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body, req.ContentLength = nopCloser{bytes.NewReader(sent)}, int64(len(sent))
	c := p.Client()
	recordAuth(c, rec)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &servertest.APIError{Status: resp.StatusCode, Code: resp.Header.Get("x-amzn-ErrorType")}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
