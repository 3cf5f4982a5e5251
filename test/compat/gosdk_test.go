package compat_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/ivsrealtime"

	"github.com/footlight/footlight/internal/servertest"
)

// goSDKClient is an aws-sdk-go v1 ivsrealtime client for s with the given secret, loading
// no shared config or credentials file.
func goSDKClient(t *testing.T, s *servertest.Server, secret string) *ivsrealtime.IVSRealTime {
	t.Helper()
	sess, err := session.NewSessionWithOptions(session.Options{
		SharedConfigState: session.SharedConfigDisable,
		Config: aws.Config{
			Endpoint:    aws.String(s.URL),
			Region:      aws.String(s.Region),
			Credentials: credentials.NewStaticCredentials(s.AccessKeyID, secret, ""),
			HTTPClient:  &http.Client{Timeout: 30 * time.Second},
			MaxRetries:  aws.Int(0),
		},
	})
	if err != nil {
		t.Fatalf("aws-sdk-go session: %v", err)
	}
	return ivsrealtime.New(sess)
}

// TestGoSDKv1Round drives the server with aws-sdk-go v1's service/ivsrealtime.
func TestGoSDKv1Round(t *testing.T) {
	t.Parallel()
	s := servertest.Start(t, nil)
	c := goSDKClient(t, s, s.SecretAccessKey)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()

	created, err := c.CreateStageWithContext(ctx, &ivsrealtime.CreateStageInput{
		Name: aws.String("go-stage"),
		Tags: aws.StringMap(map[string]string{"team": "video"}),
		ParticipantTokenConfigurations: []*ivsrealtime.ParticipantTokenConfiguration{
			{UserId: aws.String("frank"), Duration: aws.Int64(30)},
		},
	})
	if err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	arn := aws.StringValue(created.Stage.Arn)
	if !stageARNPattern.MatchString(arn) || aws.StringValue(created.Stage.Name) != "go-stage" {
		t.Fatalf("CreateStage = %v", created.Stage)
	}
	if want := s.URL + "/whip/" + arn[strings.LastIndex(arn, "/")+1:]; created.Stage.Endpoints == nil || aws.StringValue(created.Stage.Endpoints.Whip) != want {
		t.Errorf("CreateStage endpoints = %v, want whip %s", created.Stage.Endpoints, want)
	}
	if len(created.ParticipantTokens) != 1 {
		t.Fatalf("CreateStage returned %d participant tokens, want 1", len(created.ParticipantTokens))
	}
	tok := created.ParticipantTokens[0]
	if aws.StringValue(tok.UserId) != "frank" || aws.Int64Value(tok.Duration) != 30 || tok.ExpirationTime == nil {
		t.Errorf("CreateStage token = %v, want frank for 30 min with an expirationTime", tok)
	}

	got, err := c.GetStageWithContext(ctx, &ivsrealtime.GetStageInput{Arn: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetStage: %v", err)
	}
	if aws.StringValue(got.Stage.Arn) != arn || aws.StringValue(got.Stage.Name) != "go-stage" ||
		!maps.Equal(aws.StringValueMap(got.Stage.Tags), map[string]string{"team": "video"}) {
		t.Errorf("GetStage = %v, want the created stage", got.Stage)
	}
	if got.Stage.ActiveSessionId == nil || *got.Stage.ActiveSessionId != "" {
		t.Errorf("GetStage activeSessionId = %v, want \"\" for an idle stage", got.Stage.ActiveSessionId)
	}

	updated, err := c.UpdateStageWithContext(ctx, &ivsrealtime.UpdateStageInput{Arn: aws.String(arn), Name: aws.String("go-renamed")})
	if err != nil {
		t.Fatalf("UpdateStage: %v", err)
	}
	if aws.StringValue(updated.Stage.Name) != "go-renamed" || aws.StringValue(updated.Stage.Arn) != arn {
		t.Errorf("UpdateStage = %v, want %s named go-renamed", updated.Stage, arn)
	}

	var listed []string
	err = c.ListStagesPagesWithContext(ctx, &ivsrealtime.ListStagesInput{MaxResults: aws.Int64(1)}, func(p *ivsrealtime.ListStagesOutput, last bool) bool {
		for _, st := range p.Stages {
			listed = append(listed, aws.StringValue(st.Arn)+" "+aws.StringValue(st.Name))
		}
		return true
	})
	if err != nil {
		t.Fatalf("ListStages: %v", err)
	}
	if want := []string{arn + " go-renamed"}; !slices.Equal(listed, want) {
		t.Errorf("ListStages = %v, want %v", listed, want)
	}

	if _, err := c.TagResourceWithContext(ctx, &ivsrealtime.TagResourceInput{ResourceArn: aws.String(arn), Tags: aws.StringMap(map[string]string{"env": "test", "a b": "c d", "x/y+z=ü": "1"})}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	checkGoTags(ctx, t, c, arn, map[string]string{"team": "video", "env": "test", "a b": "c d", "x/y+z=ü": "1"})
	if _, err := c.UntagResourceWithContext(ctx, &ivsrealtime.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: aws.StringSlice([]string{"team", "a b", "x/y+z=ü"})}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	checkGoTags(ctx, t, c, arn, map[string]string{"env": "test"})

	before := time.Now()
	pt, err := c.CreateParticipantTokenWithContext(ctx, &ivsrealtime.CreateParticipantTokenInput{StageArn: aws.String(arn), UserId: aws.String("grace")})
	after := time.Now()
	if err != nil {
		t.Fatalf("CreateParticipantToken: %v", err)
	}
	// The model marks expirationTime iso8601: the SDK only fills it when the string parses.
	if pt.ParticipantToken == nil || pt.ParticipantToken.ExpirationTime == nil {
		t.Fatalf("CreateParticipantToken: ExpirationTime did not parse: %v", pt.ParticipantToken)
	}
	exp := *pt.ParticipantToken.ExpirationTime
	if lo, hi := before.Add(718*time.Minute), after.Add(722*time.Minute); exp.Before(lo) || exp.After(hi) {
		t.Errorf("CreateParticipantToken ExpirationTime %v, want 720 min after the call (%v..%v)", exp, lo, hi)
	}
	if aws.StringValue(pt.ParticipantToken.UserId) != "grace" || aws.Int64Value(pt.ParticipantToken.Duration) != 720 {
		t.Errorf("CreateParticipantToken = %v, want grace for the default 720 min", pt.ParticipantToken)
	}
	checkJWT(t, aws.StringValue(pt.ParticipantToken.Token))

	if _, err := c.DeleteStageWithContext(ctx, &ivsrealtime.DeleteStageInput{Arn: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteStage: %v", err)
	}
	_, err = c.GetStageWithContext(ctx, &ivsrealtime.GetStageInput{Arn: aws.String(arn)})
	checkGoError(t, "GetStage after DeleteStage", err, ivsrealtime.ErrCodeResourceNotFoundException, http.StatusNotFound)
	var rnf *ivsrealtime.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("GetStage after DeleteStage: %T is not a *ivsrealtime.ResourceNotFoundException", err)
	}

	_, err = goSDKClient(t, s, "not-the-secret").ListStagesWithContext(ctx, &ivsrealtime.ListStagesInput{})
	checkGoError(t, "ListStages with a wrong secret", err, "InvalidSignatureException", http.StatusForbidden)
}

func checkGoTags(ctx context.Context, t *testing.T, c *ivsrealtime.IVSRealTime, arn string, want map[string]string) {
	t.Helper()
	out, err := c.ListTagsForResourceWithContext(ctx, &ivsrealtime.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	if got := aws.StringValueMap(out.Tags); !maps.Equal(got, want) {
		t.Errorf("ListTagsForResource = %v, want %v", got, want)
	}
}

func checkGoError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	var aerr awserr.RequestFailure
	if !errors.As(err, &aerr) {
		t.Fatalf("%s: got %v (%T), want an awserr.RequestFailure %s", what, err, err, code)
	}
	if aerr.Code() != code || aerr.StatusCode() != status {
		t.Errorf("%s: got %s (HTTP %d), want %s (HTTP %d): %v", what, aerr.Code(), aerr.StatusCode(), code, status, err)
	}
	if aerr.RequestID() == "" {
		t.Errorf("%s: no request id (x-amzn-RequestId)", what)
	}
}
