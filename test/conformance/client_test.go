package conformance_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/footlight/footlight/internal/awsmodel"
	"github.com/footlight/footlight/internal/servertest"
)

// rawClient sends signed requests and hands back the whole reply (status, headers, raw and
// decoded body): servertest.Client keeps only the error code and exceptionMessage, and these
// tests look at every part of the reply.
type rawClient struct {
	url    string
	creds  aws.Credentials
	region string
	http   *http.Client
	signer *v4.Signer
}

func newRawClient(s *servertest.Server) *rawClient {
	c := s.Client()
	return &rawClient{url: c.URL, creds: c.Creds, region: c.Region, http: c.HTTP, signer: v4.NewSigner()}
}

// wireRequest is one HTTP request of the API: escaped path, raw query and body (nil: none).
type wireRequest struct {
	Method string
	Path   string
	Query  string
	Body   []byte
}

func (r wireRequest) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	if r.Body != nil {
		b := string(r.Body)
		if len(b) > 300 {
			b = b[:300] + "…"
		}
		s += " " + b
	}
	return s
}

type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any // nil when the body is not a JSON object
}

func (r reply) String() string {
	b := string(r.Raw)
	if len(b) > 600 {
		b = b[:600] + "…"
	}
	return http.StatusText(r.Status) + " (" + strconv.Itoa(r.Status) + ") x-amzn-ErrorType=" + r.Header.Get("x-amzn-ErrorType") + " " + b
}

func (c *rawClient) do(t testing.TB, req wireRequest) reply {
	t.Helper()
	u, err := url.Parse(c.url + req.Path)
	if err != nil {
		t.Fatalf("%s: %v", req, err)
	}
	u.RawQuery = req.Query
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.Method, u.String(), bytes.NewReader(req.Body))
	if err != nil {
		t.Fatalf("%s: %v", req, err)
	}
	if req.Body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(req.Body)
	if err := c.signer.SignHTTP(ctx, c.creds, hr, hex.EncodeToString(sum[:]), "ivs", c.region, time.Now()); err != nil {
		t.Fatalf("sign %s: %v", req, err)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		t.Fatalf("%s: %v", req, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read reply: %v", req, err)
	}
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) == nil {
		out.JSON = obj
	}
	return out
}

// call sends op's members as the model binds them: uri labels into the path, querystring
// members into the query, the rest as the JSON body of a POST.
func (c *rawClient) call(t testing.TB, m *awsmodel.Model, op string, in map[string]any) reply {
	t.Helper()
	return c.do(t, bind(t, m, op, in))
}

// bind builds the HTTP request of op for the members in (SPEC §2.1). Labels are escaped as
// one path segment; query values percent-encode spaces as %20, as the SDKs do.
func bind(t testing.TB, m *awsmodel.Model, op string, in map[string]any) wireRequest {
	t.Helper()
	o := m.Operations[op]
	if o == nil {
		t.Fatalf("operation %s is not in the model", op)
	}
	req := wireRequest{Method: o.Method, Path: o.URI}
	body := map[string]any{}
	q := url.Values{}
	inShape := m.Shapes[o.Input]
	for name, v := range in {
		ref := inShape.Members[name]
		if ref == nil {
			body[name] = v
			continue
		}
		switch ref.Location {
		case "uri":
			s, _ := v.(string)
			req.Path = strings.Replace(req.Path, "{"+ref.LocationName+"}", escapeLabel(s), 1)
		case "querystring":
			switch x := v.(type) {
			case []any:
				for _, it := range x {
					s, _ := it.(string)
					q.Add(ref.LocationName, s)
				}
			case string:
				q.Add(ref.LocationName, x)
			}
		default:
			body[name] = v
		}
	}
	// An absent label leaves an empty path segment.
	for _, name := range inShape.MemberNames() {
		if ref := inShape.Members[name]; ref.Location == "uri" {
			req.Path = strings.Replace(req.Path, "{"+ref.LocationName+"}", "", 1)
		}
	}
	req.Query = encodeQuery(q)
	if o.Method == http.MethodPost || o.Method == http.MethodPut {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode %s input: %v", op, err)
		}
		req.Body = b
	}
	return req
}

// escapeLabel percent-encodes a path label as the SDKs do: everything but A-Z a-z 0-9 - _ . ~
// ("arn%3Aaws%3Aivs%3A…%3Astage%2Fabcd", SPEC §2.1).
func escapeLabel(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, url.PathEscape(k)+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}

// mentionsMember reports whether msg names member as a word or path component: "'arn'",
// "video.width", "tags.k0", "x.1.member.duration". An echoed value such as 'arn:aws:…' or a
// pattern text does not count, because ':' and '/' glue the name to a larger token.
func mentionsMember(msg, member string) bool {
	glued := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '/'
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], member)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(member)
		if (start == 0 || !glued(msg[start-1])) && (end == len(msg) || !glued(msg[end])) {
			return true
		}
		i = start + 1
	}
}

// checkAWSError asserts an AWS-shaped error reply: the status, x-amzn-ErrorType, a request
// id and a JSON body carrying the message as both exceptionMessage and message (SPEC §3.2).
// It returns the message.
func checkAWSError(t testing.TB, what string, r reply, status int, code string) string {
	t.Helper()
	if r.Status != status || r.Header.Get("x-amzn-ErrorType") != code {
		t.Errorf("%s: got %s; want %d %s", what, r, status, code)
		return ""
	}
	return checkErrorBody(t, what, r)
}

func checkErrorBody(t testing.TB, what string, r reply) string {
	t.Helper()
	if r.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s: reply has no x-amzn-RequestId header", what)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	em, ok1 := r.JSON["exceptionMessage"].(string)
	m, ok2 := r.JSON["message"].(string)
	if !ok1 || !ok2 {
		t.Errorf("%s: body lacks exceptionMessage or message strings: %s", what, r.Raw)
		return em + m
	}
	if em != m {
		t.Errorf("%s: exceptionMessage %q and message %q differ", what, em, m)
	}
	return em
}

// checkValidation asserts a ValidationException whose message names member.
func checkValidation(t testing.TB, what string, r reply, member string) {
	t.Helper()
	msg := checkAWSError(t, what, r, http.StatusBadRequest, "ValidationException")
	if msg != "" && !mentionsMember(msg, member) {
		t.Errorf("%s: message does not name member %q: %q", what, member, msg)
	}
}

// newPublicKeyPEM makes a fresh P-384 public key in PEM, the only kind ImportPublicKey takes.
func newPublicKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
