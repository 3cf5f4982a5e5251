package api_test

// An external test package: servertest imports internal/server, which imports this package,
// so an in-package test could not use it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/footlight/footlight/internal/servertest"
)

// fuzzRoutes are the operations of the API with their own method and path; the last entry is
// a path no operation serves. {label} is the tag operations' percent-encoded resource ARN.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/CreateStage"},
	{"POST", "/GetStage"},
	{"POST", "/UpdateStage"},
	{"POST", "/DeleteStage"},
	{"POST", "/ListStages"},
	{"POST", "/CreateParticipantToken"},
	{"POST", "/tags/{label}"},   // TagResource
	{"DELETE", "/tags/{label}"}, // UntagResource
	{"GET", "/tags/{label}"},    // ListTagsForResource
	{"POST", "/CreateStorageConfiguration"},
	{"POST", "/GetStorageConfiguration"},
	{"POST", "/ListStorageConfigurations"},
	{"POST", "/DeleteStorageConfiguration"},
	{"POST", "/CreateEncoderConfiguration"},
	{"POST", "/GetEncoderConfiguration"},
	{"POST", "/ListEncoderConfigurations"},
	{"POST", "/DeleteEncoderConfiguration"},
	{"POST", "/ImportPublicKey"},
	{"POST", "/GetPublicKey"},
	{"POST", "/ListPublicKeys"},
	{"POST", "/DeletePublicKey"},
	{"POST", "/NoSuchOperation"},
}

// fuzzMethods: selector 0 is the route's own method, the others override it.
var fuzzMethods = []string{"", "POST", "GET", "DELETE", "PUT", "PATCH"}

const (
	seedStage   = "arn:aws:ivs:us-east-1:123456789012:stage/abcdABCD1234"
	seedStorage = "arn:aws:ivs:us-east-1:123456789012:storage-configuration/abcdABCD1234"
	seedEncoder = "arn:aws:ivs:us-east-1:123456789012:encoder-configuration/abcdABCD1234"
	seedKey     = "arn:aws:ivs:us-east-1:123456789012:public-key/abcdABCD1234"
	seedPEM     = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEJTnG4RRVLoQL7oFujPL4vtpOSD88r0Sv\n+Ha8ISi+72lDdOV6QxNjx9uFsUM/cgkgP8V8xzEvR2fVJifGN9/33SKV4GOvyHVI\nrmoDFAccNyviqwTaTpyg6tl9flLXqE/a\n-----END PUBLIC KEY-----\n"
)

// FuzzRequest sends arbitrary bodies, methods and queries to every route of a real server
// (in process, signed with valid SigV4 so requests reach routing and validation) and asserts
// the replies stay AWS-shaped: never a 5xx, every error with x-amzn-ErrorType and a JSON body
// carrying exceptionMessage, every success a JSON object.
//
// opIndex picks the route (modulo), method picks the method (0: the route's own). For the
// tag routes the query is "<resource ARN label>#<raw query>"; for the others it is the raw query.
func FuzzRequest(f *testing.F) {
	type seed struct {
		op     int
		method uint8
		body   string
		query  string
	}
	tag := seedStage + "#"
	valid := []seed{
		{0, 0, `{"name":"s","tags":{"k":"v"},"participantTokenConfigurations":[{"duration":60,"userId":"u","attributes":{"a":"b"},"capabilities":["PUBLISH"]}],"autoParticipantRecordingConfiguration":{"storageConfigurationArn":"` + seedStorage + `","mediaTypes":["AUDIO_ONLY"],"thumbnailConfiguration":{"targetIntervalSeconds":30,"storage":["LATEST"],"recordingMode":"INTERVAL"},"recordingReconnectWindowSeconds":10,"hlsConfiguration":{"targetSegmentDurationSeconds":4},"recordParticipantReplicas":false}}`, ""},
		{1, 0, `{"arn":"` + seedStage + `"}`, ""},
		{2, 0, `{"arn":"` + seedStage + `","name":"n","autoParticipantRecordingConfiguration":{"storageConfigurationArn":""}}`, ""},
		{3, 0, `{"arn":"` + seedStage + `"}`, ""},
		{4, 0, `{"maxResults":10,"nextToken":""}`, ""},
		{5, 0, `{"stageArn":"` + seedStage + `","duration":720,"userId":"u","attributes":{"a":"b"},"capabilities":["PUBLISH","SUBSCRIBE"]}`, ""},
		{6, 0, `{"tags":{"k":"v"}}`, tag},
		{7, 0, ``, tag + "tagKeys=k&tagKeys=b%20c"},
		{8, 0, ``, tag},
		{9, 0, `{"name":"n","s3":{"bucketName":"my-bucket"},"tags":{}}`, ""},
		{10, 0, `{"arn":"` + seedStorage + `"}`, ""},
		{11, 0, `{"maxResults":100}`, ""},
		{12, 0, `{"arn":"` + seedStorage + `"}`, ""},
		{13, 0, `{"name":"n","video":{"width":1920,"height":1080,"framerate":29.97,"bitrate":8500000}}`, ""},
		{14, 0, `{"arn":"` + seedEncoder + `"}`, ""},
		{15, 0, `{}`, ""},
		{16, 0, `{"arn":"` + seedEncoder + `"}`, ""},
		{17, 0, `{"name":"k","publicKeyMaterial":` + jsonString(seedPEM) + `}`, ""},
		{18, 0, `{"arn":"` + seedKey + `"}`, ""},
		{19, 0, `{"nextToken":"abc"}`, ""},
		{20, 0, `{"arn":"` + seedKey + `"}`, ""},
		{21, 0, `{}`, ""},
	}
	invalid := []seed{
		{0, 0, `{"name":"bad name!","participantTokenConfigurations":[{"duration":0,"attributes":{"a":1}}],"tags":{"aws:x":"y"}}`, ""},
		{1, 0, `{"ARN":"` + seedStage + `"}`, ""},
		{2, 0, `{"arn":"` + seedStage + `","autoParticipantRecordingConfiguration":{"thumbnailConfiguration":{"targetIntervalSeconds":30,"recordingMode":"DISABLED"}}}`, ""},
		{3, 0, `{"arn":`, ""},
		{4, 0, `{"maxResults":1e400}`, ""},
		{5, 0, `{"stageArn":"x","attributes":{"a":"` + strings.Repeat("v", 1100) + `"}}`, ""},
		{6, 0, `{"tags":[]}`, tag},
		{7, 0, ``, tag + "tagKeys=&tagKeys=%zz;x"},
		{8, 0, ``, "#"},
		{9, 0, `{"s3":{"BucketName":"ab"}}`, ""},
		{10, 0, `[]`, ""},
		{11, 0, `null`, ""},
		{12, 0, `{} {}`, ""},
		{13, 0, `{"video":{"width":1921,"height":1,"framerate":"x","bitrate":-1}}`, ""},
		{14, 0, `{"arn":{"arn":["x"]}}`, ""},
		{15, 0, strings.Repeat("[", 20000), ""},
		{16, 0, `{"arn":"` + seedEncoder + `\u0000"}`, ""},
		{17, 0, `{"publicKeyMaterial":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}`, ""},
		{18, 1, `{"arn":"` + seedKey + `"}`, "a=b"},
		{19, 2, `{}`, ""},
		{20, 5, "\xff\xfe", ""},
		{21, 3, `{}`, "x=%"},
		{6, 4, `{"tags":{"k":"v"}}`, seedStage + "/extra#"},
		{8, 0, ``, strings.Repeat("a", 300) + "#"},
	}
	for _, s := range append(valid, invalid...) {
		f.Add(uint8(s.op), s.method, []byte(s.body), s.query)
	}

	srv := servertest.Start(f, nil)
	c := srv.Client()
	signer := v4.NewSigner()

	f.Fuzz(func(t *testing.T, opIndex uint8, method uint8, body []byte, query string) {
		route := fuzzRoutes[int(opIndex)%len(fuzzRoutes)]
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		if m == "" {
			m = route.method
		}
		path, rawQuery := route.path, query
		if strings.Contains(path, "{label}") {
			var label string
			label, rawQuery, _ = strings.Cut(query, "#")
			path = strings.Replace(path, "{label}", url.PathEscape(label), 1)
		}
		u, err := url.Parse(c.URL + path)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		u.RawQuery = requestTargetSafe(rawQuery)

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, m, u.String(), bytes.NewReader(body))
		if err != nil {
			t.Fatalf("build request: %v", err)
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, c.Creds, req, hex.EncodeToString(sum[:]), "ivs", c.Region, time.Now()); err != nil {
			t.Fatalf("sign: %v", err)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", m, u.RequestURI(), err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read reply: %v", m, u.RequestURI(), err)
		}
		what := func() string {
			return m + " " + u.RequestURI() + " body " + strconvQuote(body) + " -> " + resp.Status + " " + string(raw)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("5xx reply: %s", what())
		}
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("no x-amzn-RequestId: %s", what())
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			t.Fatalf("reply body is not a JSON object (%v): %s", err, what())
		}
		if resp.StatusCode == http.StatusOK {
			return
		}
		if resp.Header.Get("x-amzn-ErrorType") == "" {
			t.Errorf("error reply without x-amzn-ErrorType: %s", what())
		}
		if msg, ok := obj["exceptionMessage"].(string); !ok || msg == "" {
			t.Errorf("error reply without exceptionMessage: %s", what())
		}
		if _, ok := obj["message"].(string); !ok {
			t.Errorf("error reply without message: %s", what())
		}
	})
}

// requestTargetSafe percent-encodes the bytes that cannot appear in an HTTP request target
// (controls, space, non-ASCII, '#'), so every fuzzed query reaches the server as sent.
func requestTargetSafe(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func strconvQuote(b []byte) string {
	if len(b) > 500 {
		b = append(b[:500:500], "…"...)
	}
	return jsonString(string(b))
}
