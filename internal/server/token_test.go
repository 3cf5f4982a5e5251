package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/footlight/footlight/internal/servertest"
	"github.com/footlight/footlight/internal/token"
)

// TestOneVerifierForServerAndImportedKeys: the verifier the media plane uses accepts a token
// from CreateParticipantToken and a token a customer signs with a key imported through
// ImportPublicKey (kid = the key's ARN), and refuses the latter once the key is deleted.
func TestOneVerifierForServerAndImportedKeys(t *testing.T) {
	s := servertest.Start(t, nil)
	c, ctx, v := s.Client(), context.Background(), s.Node.TokenVerifier()

	var created struct {
		Stage struct {
			Arn       string `json:"arn"`
			Endpoints struct{ Events, WHIP string }
		} `json:"stage"`
		ParticipantTokens []struct {
			ParticipantID string `json:"participantId"`
			Token         string `json:"token"`
		} `json:"participantTokens"`
	}
	in := map[string]any{"name": "verify", "participantTokenConfigurations": []any{map[string]any{"userId": "alice", "capabilities": []string{"SUBSCRIBE"}}}}
	if err := c.Call(ctx, "CreateStage", in, &created); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	claims, err := v.Verify(ctx, created.ParticipantTokens[0].Token, time.Now())
	if err != nil {
		t.Fatalf("server token refused: %v", err)
	}
	if claims.ParticipantID != created.ParticipantTokens[0].ParticipantID || claims.StageArn != created.Stage.Arn ||
		claims.UserID != "alice" || claims.Publish || !claims.Subscribe {
		t.Fatalf("server token claims = %+v", claims)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	var imported struct {
		PublicKey struct{ Arn string } `json:"publicKey"`
	}
	material := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := c.Call(ctx, "ImportPublicKey", map[string]any{"publicKeyMaterial": material}, &imported); err != nil {
		t.Fatalf("ImportPublicKey: %v", err)
	}
	stageID := created.Stage.Arn[len(created.Stage.Arn)-12:]
	now := time.Now()
	customer := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "customer-participant-1",
		"resource": created.Stage.Arn, "topic": stageID,
		"events_url": created.Stage.Endpoints.Events, "whip_url": created.Stage.Endpoints.WHIP,
		"user_id": "bob", "attributes": map[string]string{"role": "host"},
		"capabilities": map[string]bool{"allow_publish": true, "allow_subscribe": true}, "version": "1.0",
	})
	customer.Header["kid"] = imported.PublicKey.Arn
	signed, err := customer.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	claims, err = v.Verify(ctx, signed, now)
	if err != nil {
		t.Fatalf("customer token refused: %v", err)
	}
	if claims.KeyID != imported.PublicKey.Arn || claims.UserID != "bob" || !claims.Publish || claims.Attributes["role"] != "host" {
		t.Fatalf("customer token claims = %+v", claims)
	}

	if err := c.Call(ctx, "DeletePublicKey", map[string]any{"arn": imported.PublicKey.Arn}, nil); err != nil {
		t.Fatalf("DeletePublicKey: %v", err)
	}
	if _, err := v.Verify(ctx, signed, now); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("token of a deleted key: err = %v, want ErrUnknownKey", err)
	}
}
