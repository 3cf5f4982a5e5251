package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/footlight/footlight/internal/sigv4"
	"github.com/footlight/footlight/internal/token"
	"github.com/footlight/footlight/web"
)

// TestHandler: the pages and assets are served with their types, the pages with their CSP,
// the scripts and styles with CORS (a page on any origin may import the client module),
// revalidated by ETag; anything else is 404.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	tests := []struct {
		path, method string
		status       int
		ctype        string
		cors         bool
	}{
		{"/", "GET", 200, "text/html; charset=utf-8", false},
		{"/stages", "GET", 200, "text/html; charset=utf-8", false},
		{"/web/footlight.js", "GET", 200, "text/javascript; charset=utf-8", true},
		{"/web/console.js", "GET", 200, "text/javascript; charset=utf-8", true},
		{"/web/stages.js", "GET", 200, "text/javascript; charset=utf-8", true},
		{"/web/sigv4.js", "GET", 200, "text/javascript; charset=utf-8", true},
		{"/web/style.css", "GET", 200, "text/css; charset=utf-8", true},
		{"/web/icon.svg", "GET", 200, "image/svg+xml", true},
		{"/web/footlight.js", "HEAD", 200, "text/javascript; charset=utf-8", true},
		{"/web/", "GET", 404, "", false},
		{"/web/missing.js", "GET", 404, "", false},
		{"/web/../web.go", "GET", 404, "", false},
		{"/index.html", "GET", 404, "", false},
		{"/", "POST", 404, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			h := resp.Header
			if got := h.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := h.Get("Access-Control-Allow-Origin") == "*"; got != tt.cors {
				t.Errorf("Access-Control-Allow-Origin %q, want CORS %v", h.Get("Access-Control-Allow-Origin"), tt.cors)
			}
			if strings.HasPrefix(tt.ctype, "text/html") && !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("page CSP %q", h.Get("Content-Security-Policy"))
			}
			if h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("caching headers %v", h)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD has a %d-byte body", len(body))
			}
			req, _ = http.NewRequest("GET", srv.URL+tt.path, nil)
			req.Header.Set("If-None-Match", h.Get("ETag"))
			again, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			again.Body.Close()
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation with the ETag: %d, want 304", again.StatusCode)
			}
		})
	}
}

// TestReferencesResolve: every /web/ URL the pages name and every module a script imports is
// served, so a renamed file cannot leave a page broken.
func TestReferencesResolve(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	ref := regexp.MustCompile(`(?:src|href)="(/web/[^"]+)"|from "\./([^"]+)"`)
	seen := 0
	for _, page := range []string{"/", "/stages", "/web/console.js", "/web/stages.js", "/web/footlight.js", "/web/sigv4.js"} {
		body := get(t, srv.URL+page)
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			u := m[1]
			if u == "" {
				u = "/web/" + m[2]
			}
			resp, err := http.Get(srv.URL + u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s names %s, which answers %d", page, u, resp.StatusCode)
			}
			seen++
		}
	}
	if seen < 8 {
		t.Errorf("found only %d references; the pattern no longer matches the pages", seen)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// moduleResults is what testdata/module.mjs prints.
type moduleResults struct {
	Tokens []struct {
		Error          string            `json:"error"`
		ParticipantID  string            `json:"participantId"`
		UserID         string            `json:"userId"`
		StageID        string            `json:"stageId"`
		StageArn       string            `json:"stageArn"`
		WhipURL        string            `json:"whipUrl"`
		EventsURL      string            `json:"eventsUrl"`
		Attributes     map[string]string `json:"attributes"`
		Capabilities   struct{ Publish, Subscribe bool }
		ExpiresAt      string `json:"expiresAt"`
		Expired        bool   `json:"expired"`
		IsFootlightErr bool   `json:"isFootlightError"`
	} `json:"tokens"`
	Refusals []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Status  int    `json:"status"`
	} `json:"refusals"`
	Signatures []map[string]string `json:"signatures"`
	Fragment   string              `json:"fragment"`
}

// runModule runs testdata/module.mjs on cases with node.
func runModule(t *testing.T, cases map[string]any) moduleResults {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH (%v): apt-get install nodejs (scripts/test.sh does)", err)
	}
	raw, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "testdata/module.mjs")
	cmd.Env = append(os.Environ(), "FOOTLIGHT_WEB_CASES="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node testdata/module.mjs: %v\n%s", err, stderr.String())
	}
	var out moduleResults
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("decode module.mjs output: %v\n%s", err, stdout.String())
	}
	return out
}

// TestClientModule: footlight.js reads a real participant token (minted by internal/token,
// with non-ASCII attributes) exactly as the server wrote it, knows an expired one, refuses
// what is not a token, and turns each refusal reason of the media endpoints (docs/MEDIA.md)
// into its error code; its trickle fragment carries the credentials, the mid, the
// candidates and end-of-candidates (RFC 8840).
func TestClientModule(t *testing.T) {
	key, err := token.LoadOrCreateKey(t.TempDir() + "/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	issuer := token.NewIssuer(key)
	now := time.Now().Truncate(time.Second)
	claims := token.Claims{
		ParticipantID: "p4rTic1pant0", StageArn: "arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh", StageID: "abcdABCDefgh",
		UserID: "zoë", Attributes: map[string]string{"displayName": "Zoë 🎤", "role": "host"}, Publish: true,
		EventsURL: "ws://127.0.0.1:8080/events", WhipURL: "http://127.0.0.1:8080/whip/abcdABCDefgh",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	live, err := issuer.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	claims.IssuedAt, claims.ExpiresAt = now.Add(-2*time.Hour), now.Add(-time.Hour)
	expired, err := issuer.Mint(claims)
	if err != nil {
		t.Fatal(err)
	}
	refusals := []map[string]any{
		{"status": 401, "reason": "token expired", "op": "publish"},
		{"status": 401, "reason": "token signature does not verify", "op": "publish"},
		{"status": 401, "reason": "missing bearer token", "op": "publish"},
		{"status": 403, "reason": "token lacks the capability", "op": "publish"},
		{"status": 403, "reason": "token lacks the capability", "op": "subscribe"},
		{"status": 403, "reason": "participant was disconnected", "op": "join"},
		{"status": 403, "reason": "token is for another stage", "op": "publish"},
		{"status": 403, "reason": "stage publisher limit reached", "op": "publish"},
		{"status": 404, "reason": "stage not found", "op": "join"},
		{"status": 404, "reason": "participant is not publishing", "op": "subscribe"},
		{"status": 503, "reason": "media server is shutting down", "op": "publish"},
		{"status": 500, "reason": "internal error", "op": "publish"},
	}
	wantCodes := []string{"expired", "unauthorized", "unauthorized", "no-capability", "no-capability", "revoked",
		"wrong-stage", "publisher-limit", "stage-not-found", "not-publishing", "server-shutdown", "server"}
	out := runModule(t, map[string]any{
		"tokens":     []string{live, expired, "not a token", "a.b.c", "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.sig"},
		"refusals":   refusals,
		"signatures": []any{},
		"fragment": map[string]any{
			"sdp": "v=0\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:Ab12\r\na=ice-pwd:secretsecretsecretsecret\r\n",
			"candidates": []map[string]any{
				{"candidate": "candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
				{"candidate": "candidate:2 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active", "sdpMid": "0", "sdpMLineIndex": 0},
			},
		},
	})

	got := out.Tokens[0]
	if got.Error != "" || got.ParticipantID != "p4rTic1pant0" || got.UserID != "zoë" || got.StageID != "abcdABCDefgh" ||
		got.StageArn != claims.StageArn || got.WhipURL != claims.WhipURL || got.EventsURL != claims.EventsURL ||
		got.Attributes["displayName"] != "Zoë 🎤" || got.Attributes["role"] != "host" ||
		!got.Capabilities.Publish || got.Capabilities.Subscribe || got.Expired {
		t.Errorf("decodeToken(live) = %+v", got)
	}
	if exp, err := time.Parse(time.RFC3339, got.ExpiresAt); err != nil || !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("decodeToken(live).expiresAt = %q, want %v", got.ExpiresAt, now.Add(time.Hour))
	}
	if !out.Tokens[1].Expired || out.Tokens[1].Error != "" {
		t.Errorf("decodeToken(expired) = %+v, want expired", out.Tokens[1])
	}
	for i, tok := range out.Tokens[2:] {
		if tok.Error != "malformed" || !tok.IsFootlightErr {
			t.Errorf("decodeToken(bad %d) = %+v, want a malformed FootlightError", i, tok)
		}
	}
	for i, r := range out.Refusals {
		if r.Code != wantCodes[i] || r.Status != refusals[i]["status"] || !strings.Contains(r.Message, refusals[i]["reason"].(string)) {
			t.Errorf("refusalError(%v) = %+v, want code %s with the server's reason", refusals[i], r, wantCodes[i])
		}
	}
	want := "a=ice-ufrag:Ab12\r\na=ice-pwd:secretsecretsecretsecret\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host\r\na=candidate:2 1 tcp 1518280447 192.0.2.2 9 typ host tcptype active\r\n" +
		"a=end-of-candidates\r\n"
	if out.Fragment != want {
		t.Errorf("sdpFragment =\n%q\nwant\n%q", out.Fragment, want)
	}
}

type oneKey struct{ id, secret string }

func (k oneKey) Secret(id string) (string, bool) { return k.secret, id == k.id }

// TestSigV4: sigv4.js signs exactly as aws-sdk-go-v2's signer does (same Authorization, for
// bodies, escaped paths and queries), and Footlight's own verifier accepts its signatures.
func TestSigV4(t *testing.T) {
	creds := map[string]string{"accessKeyId": "AKIATESTFOOTLIGHT001", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	reqs := []struct{ method, url, body string }{
		{"POST", "http://127.0.0.1:8080/ListStages", `{}`},
		{"POST", "http://localhost:8080/GetStage", `{"arn":"arn:aws:ivs:us-east-1:123456789012:stage/abcdABCDefgh"}`},
		{"POST", "http://127.0.0.1:41234/ListParticipants", `{"stageArn":"arn:aws:ivs:eu-west-1:123456789012:stage/x","sessionId":"st-0123456789abc","maxResults":100}`},
		{"GET", "http://127.0.0.1:8080/tags/arn%3Aaws%3Aivs%3Aus-east-1%3A123456789012%3Astage%2Fabc", ""},
		{"GET", "http://127.0.0.1:8080/x?b=2&a=1&a=0&c=%20space+plus&d=%2F", ""},
	}
	var cases []map[string]any
	for _, r := range reqs {
		cases = append(cases, map[string]any{
			"method": r.method, "url": r.url, "body": r.body, "region": "us-east-1", "service": "ivs",
			"headers": map[string]string{"Content-Type": "application/json"}, "credentials": creds, "date": date.Format(time.RFC3339),
		})
	}
	out := runModule(t, map[string]any{"tokens": []string{}, "refusals": []any{}, "signatures": cases,
		"fragment": map[string]any{"sdp": "", "candidates": []any{}}})
	signer := v4.NewSigner()
	verifier := sigv4.New(sigv4.Config{Region: "us-east-1", Service: "ivs", Credentials: oneKey{creds["accessKeyId"], creds["secretAccessKey"]},
		Now: func() time.Time { return date.Add(time.Minute) }})
	for i, r := range reqs {
		js := out.Signatures[i]
		req, err := http.NewRequest(r.method, r.url, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		// A page cannot sign Content-Length (fetch sets it); the Go signer signs it when known.
		req.ContentLength = 0
		sum := sha256.Sum256([]byte(r.body))
		awsCreds := aws.Credentials{AccessKeyID: creds["accessKeyId"], SecretAccessKey: creds["secretAccessKey"]}
		if err := signer.SignHTTP(context.Background(), awsCreds, req, hex.EncodeToString(sum[:]), "ivs", "us-east-1", date); err != nil {
			t.Fatal(err)
		}
		if got, want := js["Authorization"], req.Header.Get("Authorization"); got != want {
			t.Errorf("%s %s:\n sigv4.js   %s\n aws-sdk-go %s", r.method, r.url, got, want)
		}
		if js["X-Amz-Date"] != "20260304T050607Z" {
			t.Errorf("X-Amz-Date %q", js["X-Amz-Date"])
		}
		// What the server sees: the page's headers, Host from the URL.
		served, _ := http.NewRequest(r.method, r.url, strings.NewReader(r.body))
		for k, v := range js {
			served.Header.Set(k, v)
		}
		if _, err := verifier.Verify(served, []byte(r.body)); err != nil {
			t.Errorf("%s %s: Footlight's verifier refuses sigv4.js's signature: %v", r.method, r.url, err)
		}
	}
}
