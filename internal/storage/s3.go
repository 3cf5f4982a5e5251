package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Config says how to reach an S3-compatible service.
type S3Config struct {
	// Endpoint is the service's base URL ("http://127.0.0.1:7070"); empty means AWS's own.
	Endpoint string
	// Region signs requests; empty means us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey are static credentials; when both are empty the SDK's
	// default chain (environment, shared files, instance role) is used.
	AccessKeyID     string
	SecretAccessKey string
	// PathStyle addresses buckets as <endpoint>/<bucket>/<key>, as most self-hosted stores
	// need, rather than <bucket>.<endpoint>/<key>.
	PathStyle bool
}

// String keeps the secret out of logs and error messages.
func (c S3Config) String() string {
	return fmt.Sprintf("S3Config{Endpoint:%q Region:%q AccessKeyID:%q PathStyle:%t}",
		c.Endpoint, c.Region, c.AccessKeyID, c.PathStyle)
}

// S3 is a Store on an S3-compatible service. It is safe for concurrent use.
type S3 struct {
	client *s3.Client
}

var _ Store = (*S3)(nil)

// NewS3 builds an aws-sdk-go-v2 S3 client for cfg. It makes no request.
func NewS3(cfg S3Config) (*S3, error) {
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Checksums only where S3 requires them: many S3-compatible stores reject the
		// aws-chunked trailing checksums the SDK sends by default.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{client: client}, nil
}

// Put uploads body with one PutObject, which S3 makes visible whole or not at all.
func (s *S3) Put(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	if err := checkObject(bucket, key); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// BucketExists asks HeadBucket: false on 404, an error when access is denied or the
// service is unreachable.
func (s *S3) BucketExists(ctx context.Context, bucket string) (bool, error) {
	if err := checkBucket(bucket); err != nil {
		return false, err
	}
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("head bucket %s: %w", bucket, err)
	}
}

// Get downloads the object, or returns an error wrapping ErrNotFound.
func (s *S3) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := checkObject(bucket, key); err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return body, nil
}

// List pages through ListObjectsV2 and returns the keys sorted.
func (s *S3) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := checkBucket(bucket); err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var keys []string
	for pages := s3.NewListObjectsV2Paginator(s.client, in); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				err = fmt.Errorf("%w: %w", ErrNotFound, err)
			}
			return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			keys = append(keys, aws.ToString(obj.Key))
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// isNotFound reports whether err is S3's "no such key/bucket" (HeadBucket has no body, so
// only its 404 status says so).
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return true
		}
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound
}
