package servertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client calls the API the way an SDK does: JSON bodies signed with SigV4 (aws-sdk-go-v2's
// signer). Safe for concurrent use.
type Client struct {
	URL    string
	Creds  aws.Credentials
	Region string
	HTTP   *http.Client
	signer *v4.Signer
}

// APIError is an AWS-shaped error reply.
type APIError struct {
	Status  int
	Code    string // x-amzn-ErrorType
	Message string // exceptionMessage
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Client returns a signing client for s.
func (s *Server) Client() *Client {
	return &Client{
		URL:    s.URL,
		Creds:  aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey},
		Region: s.Region,
		HTTP:   &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		signer: v4.NewSigner(),
	}
}

// Call runs a POST /<op> operation with in as the JSON body and decodes the reply into out
// (nil to ignore). A non-200 reply is an *APIError.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	if in == nil {
		in = struct{}{}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.Do(ctx, http.MethodPost, "/"+op, "", body, out)
}

// TagPath is the escaped path of the tag operations for a resource ARN (SPEC §2.1).
func TagPath(resourceArn string) string { return "/tags/" + url.PathEscape(resourceArn) }

// Do sends a signed request with an escaped path (e.g. TagPath) and raw query.
func (c *Client) Do(ctx context.Context, method, escapedPath, rawQuery string, body []byte, out any) error {
	u, err := url.Parse(c.URL + escapedPath)
	if err != nil {
		return err
	}
	u.RawQuery = rawQuery
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.Creds, req, hex.EncodeToString(sum[:]), "ivs", c.Region, time.Now()); err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			ExceptionMessage string `json:"exceptionMessage"`
		}
		json.Unmarshal(raw, &e)
		return &APIError{Status: resp.StatusCode, Code: resp.Header.Get("x-amzn-ErrorType"), Message: e.ExceptionMessage}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode %s reply: %w (%s)", escapedPath, err, raw)
		}
	}
	return nil
}
