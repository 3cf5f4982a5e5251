package api

import (
	"context"

	"github.com/footlight/footlight/internal/store"
)

type tagResourceInput struct {
	ResourceArn string            `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

// tagResource works on every taggable resource; the ARN came percent-encoded in the path.
func (a *API) tagResource(ctx context.Context, in *tagResourceInput) (*empty, error) {
	return &empty{}, a.cfg.Store.Tag(ctx, in.ResourceArn, in.Tags)
}

type untagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (a *API) untagResource(ctx context.Context, in *untagResourceInput) (*empty, error) {
	return &empty{}, a.cfg.Store.Untag(ctx, in.ResourceArn, in.TagKeys)
}

type resourceArnInput struct {
	ResourceArn string `json:"resourceArn"`
}

type listTagsOutput struct {
	Tags store.Tags `json:"tags"`
}

func (a *API) listTagsForResource(ctx context.Context, in *resourceArnInput) (*listTagsOutput, error) {
	tags, err := a.cfg.Store.Tags(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return &listTagsOutput{Tags: tags}, nil
}
