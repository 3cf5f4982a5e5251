package sigv4

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	credsv1 "github.com/aws/aws-sdk-go/aws/credentials"
	signerv1 "github.com/aws/aws-sdk-go/aws/signer/v4"
)

const (
	accessKey = "AKIAFOOTLIGHTTEST01"
	secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFOOTLIGHTKEY"
	otherKey  = "WRONGsecretWRONGsecretWRONGsecretWRONG00"
	region    = "us-east-1"
	arnPath   = "/tags/arn%3Aaws%3Aivs%3Aus-east-1%3A123456789012%3Astage%2Fabcd1234"
)

// now is the server's clock in tests that sign with a Go signer.
var now = time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)

type staticCreds map[string]string

func (c staticCreds) Secret(id string) (string, bool) { s, ok := c[id]; return s, ok }

// result is what the server saw of one request.
type result struct {
	accessKey string
	err       error
	path      string // r.URL.EscapedPath()
}

// newServer starts a real HTTP server whose handler verifies every request,
// since a request as received differs from the one the client signed (Host
// moved to r.Host, headers added by the transport, path re-parsed).
func newServer(t *testing.T, clock func() time.Time) (*httptest.Server, <-chan result) {
	t.Helper()
	return newServerCreds(t, clock, staticCreds{accessKey: secretKey})
}

func newServerCreds(t *testing.T, clock func() time.Time, creds Credentials) (*httptest.Server, <-chan result) {
	t.Helper()
	v := New(Config{Region: region, Service: "ivs", Credentials: creds, Now: clock})
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		id, err := v.Verify(r, body)
		results <- result{id, err, r.URL.EscapedPath()}
		if err != nil {
			w.Header().Set("X-Amzn-ErrorType", Code(err))
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, results
}

// send sends req and returns what the server made of it.
func send(t *testing.T, req *http.Request, results <-chan result) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	resp.Body.Close()
	return <-results
}

func newRequest(t *testing.T, method, url string, body []byte, headers map[string]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

type signOpts struct {
	accessKey, secret, region, service string
	when                               time.Time
}

// signV2 signs req with the aws-sdk-go-v2 signer, defaults filled in.
func signV2(t *testing.T, req *http.Request, body []byte, o signOpts) {
	t.Helper()
	o = withDefaults(o)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: o.accessKey, SecretAccessKey: o.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), o.service, o.region, o.when); err != nil {
		t.Fatal(err)
	}
}

func withDefaults(o signOpts) signOpts {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.accessKey, accessKey)
	def(&o.secret, secretKey)
	def(&o.region, region)
	def(&o.service, "ivs")
	if o.when.IsZero() {
		o.when = now
	}
	return o
}

func fixedClock() time.Time { return now }

var createStageBody = []byte(`{"name":"stage-1","participantTokenConfigurations":[{"capabilities":["PUBLISH","SUBSCRIBE"],"userId":"u1"}],"tags":{"env":"test"}}`)

// jsHeaders are what the JS SDK v3 adds and signs besides host and x-amz-date.
func jsHeaders(body []byte) map[string]string {
	sum := sha256.Sum256(body)
	return map[string]string{
		"Content-Type":          "application/json",
		"X-Amz-Content-Sha256":  hex.EncodeToString(sum[:]),
		"Amz-Sdk-Invocation-Id": "2b7c7a8e-6c43-4a8e-9c1e-1f1e5f0c9a11",
		"Amz-Sdk-Request":       "attempt=1; max=3",
		"X-Amz-User-Agent":      "aws-sdk-js/3.700.0  ua/2.1   api/ivs-realtime#3.700.0",
	}
}

func wantOK(t *testing.T, res result) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("Verify: %v (code %s)", res.err, Code(res.err))
	}
	if res.accessKey != accessKey {
		t.Fatalf("access key = %q, want %q", res.accessKey, accessKey)
	}
}

func TestGoV2Signer(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	tests := []struct {
		name, method, path string
		body               []byte
		headers            map[string]string
		wantSigned         []string
	}{
		{"CreateStage", "POST", "/CreateStage", createStageBody, map[string]string{"Content-Type": "application/json"}, []string{"content-length", "content-type", "host", "x-amz-date"}},
		{"ListTagsEscapedARN", "GET", arnPath, nil, nil, []string{"host", "x-amz-date"}},
		{"UntagResourceQuery", "DELETE", arnPath + "?tagKeys=a&tagKeys=b%20c", nil, nil, []string{"host", "x-amz-date"}},
		{"JSv3Headers", "POST", "/CreateStage", createStageBody, jsHeaders(createStageBody),
			[]string{"amz-sdk-invocation-id", "amz-sdk-request", "content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-user-agent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, tc.method, srv.URL+tc.path, tc.body, tc.headers)
			signV2(t, req, tc.body, signOpts{})
			if got := signedHeaders(t, req.Header.Get("Authorization")); got != strings.Join(tc.wantSigned, ";") {
				t.Errorf("client signed %q, want %q", got, strings.Join(tc.wantSigned, ";"))
			}
			res := send(t, req, results)
			wantOK(t, res)
			if wantPath, _, _ := strings.Cut(tc.path, "?"); res.path != wantPath {
				t.Errorf("server EscapedPath = %q, want %q", res.path, wantPath)
			}
		})
	}
}

func signedHeaders(t *testing.T, auth string) string {
	t.Helper()
	_, after, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		t.Fatalf("no SignedHeaders in %q", auth)
	}
	s, _, _ := strings.Cut(after, ",")
	return s
}

func TestGoV1Signer(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	req := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, map[string]string{"Content-Type": "application/json"})
	signer := signerv1.NewSigner(credsv1.NewStaticCredentials(accessKey, secretKey, ""))
	if _, err := signer.Sign(req, bytes.NewReader(createStageBody), "ivs", region, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("v1 SignedHeaders=%s", signedHeaders(t, req.Header.Get("Authorization")))
	wantOK(t, send(t, req, results))
}

// botocoreSign is run by python3: it signs like the AWS CLI and boto3 do and
// prints the headers botocore set. botocore takes the time from the clock.
const botocoreSign = `
import json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
method, url, body, ak, sk = sys.argv[1:6]
req = AWSRequest(method=method, url=url, data=body.encode() if body else None,
                 headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(ak, sk), "ivs", "us-east-1").add_auth(req)
print(json.dumps(dict(req.headers.items())))
`

func TestBotocore(t *testing.T) {
	srv, results := newServer(t, nil) // botocore signs with the real time
	for _, tc := range []struct {
		name, method, path string
		body               []byte
	}{
		{"CreateStage", "POST", "/CreateStage", createStageBody},
		{"ListTagsEscapedARN", "GET", arnPath, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("python3", "-c", botocoreSign, tc.method, srv.URL+tc.path, string(tc.body), accessKey, secretKey).Output()
			if err != nil {
				t.Fatalf("python3 botocore (required for this test): %v %s", err, stderr(err))
			}
			var headers map[string]string
			if err := json.Unmarshal(out, &headers); err != nil {
				t.Fatalf("botocore output %q: %v", out, err)
			}
			t.Logf("botocore SignedHeaders=%s", signedHeaders(t, headers["Authorization"]))
			res := send(t, newRequest(t, tc.method, srv.URL+tc.path, tc.body, headers), results)
			wantOK(t, res)
			if res.path != tc.path {
				t.Errorf("server EscapedPath = %q, want %q", res.path, tc.path)
			}
		})
	}
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

func TestSkew(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{-14 * time.Minute, true}, {14 * time.Minute, true}, {-16 * time.Minute, false}, {16 * time.Minute, false}} {
		req := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, nil)
		signV2(t, req, createStageBody, signOpts{when: now.Add(tc.offset)})
		res := send(t, req, results)
		if tc.ok {
			wantOK(t, res)
			continue
		}
		wantErr(t, res.err, ErrExpired, "InvalidSignatureException")
		t.Logf("%v: %s", tc.offset, Message(res.err))
	}
}

func TestSkewMessage(t *testing.T) {
	v := New(Config{Region: region, Service: "ivs", Credentials: staticCreds{}, Now: fixedClock})
	err := v.checkSkew(now.Add(-30 * time.Minute))
	want := "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)"
	if Message(err) != want {
		t.Errorf("Message = %q, want %q", Message(err), want)
	}
	err = v.checkSkew(now.Add(16 * time.Minute))
	want = "Signature not yet current: 20260101T004600Z is still later than 20260101T004500Z (20260101T003000Z + 15 min.)"
	if Message(err) != want {
		t.Errorf("Message = %q, want %q", Message(err), want)
	}
}

func wantErr(t *testing.T, err, sentinel error, code string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	if got := Code(err); got != code {
		t.Fatalf("Code = %q, want %q", got, code)
	}
}

func TestRefusals(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	post := func(t *testing.T, headers map[string]string) *http.Request {
		return newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, headers)
	}
	tampered := bytes.Replace(createStageBody, []byte("stage-1"), []byte("stage-2"), 1)
	tests := []struct {
		name     string
		req      func(t *testing.T) *http.Request
		sentinel error
		code     string
		msg      string // substring of Message
	}{
		{"WrongSecret", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{secret: otherKey})
			return req
		}, ErrSignatureMismatch, "InvalidSignatureException", "does not match the signature you provided"},
		{"UnknownAccessKey", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{accessKey: "AKIAUNKNOWN000000000"})
			return req
		}, ErrUnknownAccessKey, "UnrecognizedClientException", "security token included in the request is invalid"},
		{"NoAuthorization", func(t *testing.T) *http.Request {
			return post(t, nil)
		}, ErrMissingAuth, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"OtherScheme", func(t *testing.T) *http.Request {
			return post(t, map[string]string{"Authorization": "Bearer abc.def.ghi"})
		}, ErrMissingAuth, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"GarbageParameters", func(t *testing.T) *http.Request {
			return post(t, map[string]string{"Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20260101T003000Z"})
		}, ErrIncomplete, "IncompleteSignatureException", "requires 'Credential' parameter"},
		{"BadCredential", func(t *testing.T) *http.Request {
			return post(t, map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1,SignedHeaders=host,Signature=00"})
		}, ErrIncomplete, "IncompleteSignatureException", "5 slash-delimited"},
		{"HostNotSigned", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), ";host;", ";", 1))
			return req
		}, ErrIncomplete, "IncompleteSignatureException", "'Host' or ':authority'"},
		{"NoDate", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Del("X-Amz-Date")
			return req
		}, ErrIncomplete, "IncompleteSignatureException", "'X-Amz-Date' or a 'Date'"},
		{"TamperedBody", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Body = io.NopCloser(bytes.NewReader(tampered))
			return req
		}, ErrSignatureMismatch, "InvalidSignatureException", "does not match the signature you provided"},
		{"TamperedBodySignedSHA256", func(t *testing.T) *http.Request {
			req := post(t, jsHeaders(createStageBody))
			signV2(t, req, createStageBody, signOpts{})
			req.Body = io.NopCloser(bytes.NewReader(tampered))
			return req
		}, ErrContentSHA256Mismatch, "InvalidSignatureException", "'x-amz-content-sha256' header does not match"},
		{"UnsignedPayload", func(t *testing.T) *http.Request {
			req := post(t, map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
			signV2(t, req, createStageBody, signOpts{})
			return req
		}, ErrContentSHA256Mismatch, "InvalidSignatureException", "'x-amz-content-sha256' header does not match"},
		{"WrongRegion", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{region: "eu-west-1"})
			return req
		}, ErrBadScope, "InvalidSignatureException", "Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"WrongService", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{service: "s3"})
			return req
		}, ErrBadScope, "InvalidSignatureException", "Credential should be scoped to correct service: 'ivs'. "},
		{"ScopeDateMismatch", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/20260101/", "/20251231/", 1))
			return req
		}, ErrBadScope, "InvalidSignatureException", "'20251231' != '20260101'"},
		{"BadTerminator", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/aws4_request", "/aws5_request", 1))
			return req
		}, ErrBadScope, "InvalidSignatureException", "valid terminator: 'aws4_request', not 'aws5_request'"},
		{"BadAmzDate", func(t *testing.T) *http.Request {
			req := post(t, nil)
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Set("X-Amz-Date", "2026-01-01T00:30:00Z")
			return req
		}, ErrIncomplete, "IncompleteSignatureException", "ISO-8601 'basic format'"},
		{"SignedHeaderRemoved", func(t *testing.T) *http.Request {
			req := post(t, jsHeaders(createStageBody))
			signV2(t, req, createStageBody, signOpts{})
			req.Header.Del("Amz-Sdk-Invocation-Id")
			return req
		}, ErrIncomplete, "IncompleteSignatureException", "'amz-sdk-invocation-id'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req(t)
			sig := signature(req.Header.Get("Authorization"))
			res := send(t, req, results)
			wantErr(t, res.err, tc.sentinel, tc.code)
			msg := Message(res.err)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("Message = %q, want it to contain %q", msg, tc.msg)
			}
			assertNoSecrets(t, res.err, sig)
		})
	}
}

// signature returns the Signature parameter of an Authorization header.
func signature(auth string) string {
	_, sig, _ := strings.Cut(auth, "Signature=")
	return sig
}

func assertNoSecrets(t *testing.T, err error, sigs ...string) {
	t.Helper()
	for _, text := range []string{Message(err), err.Error()} {
		for _, s := range append([]string{secretKey, otherKey}, sigs...) {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("error text %q contains %q", text, s)
			}
		}
	}
}

// TestMessageHidesExpectedSignature checks that a refusal says nothing of the
// signature the server computed, which is the one the right secret gives.
func TestMessageHidesExpectedSignature(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	good := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, nil)
	signV2(t, good, createStageBody, signOpts{})
	bad := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, nil)
	signV2(t, bad, createStageBody, signOpts{secret: otherKey})
	res := send(t, bad, results)
	wantErr(t, res.err, ErrSignatureMismatch, "InvalidSignatureException")
	assertNoSecrets(t, res.err, signature(good.Header.Get("Authorization")), signature(bad.Header.Get("Authorization")))
	for _, sentinel := range []error{ErrMissingAuth, ErrIncomplete, ErrUnknownAccessKey, ErrSignatureMismatch, ErrExpired, ErrBadScope, ErrContentSHA256Mismatch} {
		if Message(sentinel) == "" || Code(sentinel) == "" {
			t.Errorf("%v: empty Message or Code", sentinel)
		}
	}
	if got := Code(errors.New("other")); got != "InvalidSignatureException" {
		t.Errorf("Code(unknown) = %q", got)
	}
}

func TestCanonicalParts(t *testing.T) {
	for raw, want := range map[string]string{
		"":                          "",
		"tagKeys=a&tagKeys=b%20c":   "tagKeys=a&tagKeys=b%20c",
		"b=2&a=1&a=0&c":             "a=0&a=1&b=2&c=",
		"k=a-b&k=a%2Fb":             "k=a%2Fb&k=a-b",
		"x=a+b&y=%7E%2a&&z=%zz":     "x=a%20b&y=~%2A&z=%25zz",
		"nextToken=ab%3D%3D&max=10": "max=10&nextToken=ab%3D%3D",
	} {
		if got := string(appendQuery(nil, raw)); got != want {
			t.Errorf("query %q -> %q, want %q", raw, got, want)
		}
	}
	for path, want := range map[string]string{
		"":                    "/",
		"/CreateStage":        "/CreateStage",
		arnPath:               "/tags/arn%253Aaws%253Aivs%253Aus-east-1%253A123456789012%253Astage%252Fabcd1234",
		"/a b/~x_y.z-!":       "/a%20b/~x_y.z-%21",
		"/tags/x%2Fy/ListAll": "/tags/x%252Fy/ListAll",
	} {
		if got := string(appendURIPath(nil, path)); got != want {
			t.Errorf("path %q -> %q, want %q", path, got, want)
		}
	}
	for in, want := range map[string]string{"  a   b  c ": "a b c", "attempt=1; max=3": "attempt=1; max=3", "\tx\t": "x"} {
		if got := string(appendTrimmed(nil, in)); got != want {
			t.Errorf("trim %q -> %q, want %q", in, got, want)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := New(Config{Region: region, Service: "ivs", Credentials: staticCreds{accessKey: secretKey}, Now: fixedClock})
	req, err := http.NewRequest("POST", "http://ivsrealtime.footlight.test/CreateStage", bytes.NewReader(createStageBody))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(createStageBody)
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ivs", region, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, createStageBody); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHMACMatchesStdlib checks the allocation-free HMAC against crypto/hmac.
func TestHMACMatchesStdlib(t *testing.T) {
	key := sha256.Sum256([]byte("signing key"))
	for _, msg := range []string{"", "a", strings.Repeat("string to sign\n", 20)} {
		mac := hmac.New(sha256.New, key[:])
		mac.Write([]byte(msg))
		got := hmacSHA256(&key, append(make([]byte, 64), msg...))
		if !bytes.Equal(got[:], mac.Sum(nil)) {
			t.Errorf("hmacSHA256(%q) differs from crypto/hmac", msg)
		}
	}
}

// TestAuthorizationSpacing sends a real signature with the separators between
// the Authorization parameters rewritten, as clients differ there.
func TestAuthorizationSpacing(t *testing.T) {
	srv, results := newServer(t, fixedClock)
	for _, sep := range []string{",", " ", " , ", ",   "} {
		req := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, nil)
		signV2(t, req, createStageBody, signOpts{})
		auth := strings.ReplaceAll(req.Header.Get("Authorization"), ", ", sep)
		req.Header.Set("Authorization", auth+" ")
		if res := send(t, req, results); res.err != nil {
			t.Errorf("%q: %v", auth, res.err)
		}
	}
}

// rotatingCreds has one access key whose secret the test changes.
type rotatingCreds struct {
	mu     sync.Mutex
	secret string
}

func (c *rotatingCreds) Secret(id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.secret, id == accessKey
}

// TestRotatedSecret checks that the signing key cache notices a new secret.
func TestRotatedSecret(t *testing.T) {
	creds := &rotatingCreds{secret: secretKey}
	srv, results := newServerCreds(t, fixedClock, creds)
	signed := func(secret string) *http.Request {
		req := newRequest(t, "POST", srv.URL+"/CreateStage", createStageBody, nil)
		signV2(t, req, createStageBody, signOpts{secret: secret})
		return req
	}
	wantOK(t, send(t, signed(secretKey), results))
	creds.mu.Lock()
	creds.secret = otherKey
	creds.mu.Unlock()
	wantErr(t, send(t, signed(secretKey), results).err, ErrSignatureMismatch, "InvalidSignatureException")
	wantOK(t, send(t, signed(otherKey), results))
}

func TestRequestTime(t *testing.T) {
	h := http.Header{"Date": {"Thu, 01 Jan 2026 00:30:00 GMT"}}
	amzDate, tm, err := requestTime(h)
	if err != nil || amzDate != "20260101T003000Z" || !tm.Equal(now) {
		t.Errorf("Date header: %q %v %v", amzDate, tm, err)
	}
	h.Set("X-Amz-Date", "20260101T003001Z")
	if amzDate, _, err := requestTime(h); err != nil || amzDate != "20260101T003001Z" {
		t.Errorf("X-Amz-Date must win over Date: %q %v", amzDate, err)
	}
	h.Set("X-Amz-Date", "20260101T003001.5Z")
	if _, _, err := requestTime(h); !errors.Is(err, ErrIncomplete) {
		t.Errorf("fractional X-Amz-Date: err = %v", err)
	}
}
