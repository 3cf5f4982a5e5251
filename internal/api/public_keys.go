package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
	"github.com/footlight/footlight/internal/token"
)

type publicKeyOut struct {
	Arn               string            `json:"arn"`
	Name              string            `json:"name"`
	PublicKeyMaterial string            `json:"publicKeyMaterial"`
	Fingerprint       string            `json:"fingerprint"`
	Tags              map[string]string `json:"tags"`
}

type publicKeySummaryOut struct {
	Arn  string            `json:"arn"`
	Name string            `json:"name"`
	Tags map[string]string `json:"tags"`
}

func publicKeyOf(k *store.PublicKey) publicKeyOut {
	return publicKeyOut{Arn: k.Arn, Name: k.Name, PublicKeyMaterial: k.Material, Fingerprint: k.Fingerprint, Tags: tagsOut(k.Tags)}
}

type importPublicKeyInput struct {
	PublicKeyMaterial string            `json:"publicKeyMaterial"`
	Name              string            `json:"name"`
	Tags              map[string]string `json:"tags"`
}

type publicKeyOutput struct {
	PublicKey publicKeyOut `json:"publicKey"`
}

// importPublicKey accepts only P-384 keys, the curve IVS signs ES384 tokens with; importing
// the same key twice is a ConflictException.
func (a *API) importPublicKey(ctx context.Context, in *importPublicKeyInput) (*publicKeyOutput, error) {
	pub, err := token.ParsePublicKey(in.PublicKeyMaterial)
	if err != nil {
		return nil, validation("1 validation error detected: Value at 'publicKeyMaterial' failed to satisfy constraint: Member must be a PEM-encoded ECDSA P-384 public key")
	}
	k := &store.PublicKey{
		Arn:         a.newARN(arn.TypePublicKey),
		Name:        in.Name,
		Material:    in.PublicKeyMaterial,
		Fingerprint: token.Fingerprint(pub),
		Tags:        tagsOut(in.Tags),
		CreatedAt:   a.cfg.Now().UTC(),
	}
	// A key imported twice is a conflict even at the quota: the duplicate guard runs first.
	guards := append([]store.Guard{store.Unique(arn.TypePublicKey, "$.fingerprint", k.Fingerprint)}, a.resourceGuards(arn.TypePublicKey)...)
	if err := a.cfg.Store.PublicKeys().Create(ctx, k.Arn, k, guards...); err != nil {
		return nil, err
	}
	return &publicKeyOutput{publicKeyOf(k)}, nil
}

func (a *API) getPublicKey(ctx context.Context, in *arnInput) (*publicKeyOutput, error) {
	k, err := a.cfg.Store.PublicKeys().Get(ctx, in.Arn)
	if err != nil {
		return nil, err
	}
	return &publicKeyOutput{publicKeyOf(k)}, nil
}

type listPublicKeysOutput struct {
	PublicKeys []publicKeySummaryOut `json:"publicKeys"`
	NextToken  string                `json:"nextToken,omitempty"`
}

func (a *API) listPublicKeys(ctx context.Context, in *pageInput) (*listPublicKeysOutput, error) {
	list, next, err := a.cfg.Store.PublicKeys().List(ctx, in.page(50))
	if err != nil {
		return nil, err
	}
	out := &listPublicKeysOutput{PublicKeys: make([]publicKeySummaryOut, len(list)), NextToken: next}
	for i, k := range list {
		out.PublicKeys[i] = publicKeySummaryOut{Arn: k.Arn, Name: k.Name, Tags: tagsOut(k.Tags)}
	}
	return out, nil
}

// deletePublicKey makes every token signed with that key invalid from now on (SPEC §9).
func (a *API) deletePublicKey(ctx context.Context, in *arnInput) (*empty, error) {
	return &empty{}, a.cfg.Store.PublicKeys().Delete(ctx, in.Arn)
}

// asUnknownKey makes a store miss recognisable as token.ErrUnknownKey.
func asUnknownKey(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", token.ErrUnknownKey, err)
	}
	return err
}
