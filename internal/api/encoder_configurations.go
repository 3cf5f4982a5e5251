package api

import (
	"context"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

type videoIn struct {
	Width     *int     `json:"width"`
	Height    *int     `json:"height"`
	Framerate *float64 `json:"framerate"`
	Bitrate   *int     `json:"bitrate"`
}

// resolve applies the documented default, 1280x720 at 2,500,000 bps and 30 fps (SPEC §10).
func (v *videoIn) resolve() store.Video {
	out := store.Video{Width: 1280, Height: 720, Framerate: 30, Bitrate: 2500000}
	if v == nil {
		return out
	}
	if v.Width != nil {
		out.Width = *v.Width
	}
	if v.Height != nil {
		out.Height = *v.Height
	}
	if v.Framerate != nil {
		out.Framerate = *v.Framerate
	}
	if v.Bitrate != nil {
		out.Bitrate = *v.Bitrate
	}
	return out
}

type encoderConfigurationOut struct {
	Arn   string            `json:"arn"`
	Name  string            `json:"name"`
	Video store.Video       `json:"video"`
	Tags  map[string]string `json:"tags"`
}

type encoderConfigurationSummaryOut struct {
	Arn  string            `json:"arn"`
	Name string            `json:"name"`
	Tags map[string]string `json:"tags"`
}

func encoderConfigurationOf(c *store.EncoderConfiguration) encoderConfigurationOut {
	return encoderConfigurationOut{Arn: c.Arn, Name: c.Name, Video: c.Video, Tags: tagsOut(c.Tags)}
}

type createEncoderConfigurationInput struct {
	Name  string            `json:"name"`
	Video *videoIn          `json:"video"`
	Tags  map[string]string `json:"tags"`
}

type encoderConfigurationOutput struct {
	EncoderConfiguration encoderConfigurationOut `json:"encoderConfiguration"`
}

func (a *API) createEncoderConfiguration(ctx context.Context, in *createEncoderConfigurationInput) (*encoderConfigurationOutput, error) {
	c := &store.EncoderConfiguration{
		Arn:       a.newARN(arn.TypeEncoderConfiguration),
		Name:      in.Name,
		Video:     in.Video.resolve(),
		Tags:      tagsOut(in.Tags),
		CreatedAt: a.cfg.Now().UTC(),
	}
	if err := a.cfg.Store.EncoderConfigurations().Create(ctx, c.Arn, c, a.resourceGuards(arn.TypeEncoderConfiguration)...); err != nil {
		return nil, err
	}
	return &encoderConfigurationOutput{encoderConfigurationOf(c)}, nil
}

func (a *API) getEncoderConfiguration(ctx context.Context, in *arnInput) (*encoderConfigurationOutput, error) {
	c, err := a.cfg.Store.EncoderConfigurations().Get(ctx, in.Arn)
	if err != nil {
		return nil, err
	}
	return &encoderConfigurationOutput{encoderConfigurationOf(c)}, nil
}

type listEncoderConfigurationsOutput struct {
	EncoderConfigurations []encoderConfigurationSummaryOut `json:"encoderConfigurations"`
	NextToken             string                           `json:"nextToken,omitempty"`
}

func (a *API) listEncoderConfigurations(ctx context.Context, in *pageInput) (*listEncoderConfigurationsOutput, error) {
	list, next, err := a.cfg.Store.EncoderConfigurations().List(ctx, in.page(100))
	if err != nil {
		return nil, err
	}
	out := &listEncoderConfigurationsOutput{EncoderConfigurations: make([]encoderConfigurationSummaryOut, len(list)), NextToken: next}
	for i, c := range list {
		out.EncoderConfigurations[i] = encoderConfigurationSummaryOut{Arn: c.Arn, Name: c.Name, Tags: tagsOut(c.Tags)}
	}
	return out, nil
}

// deleteEncoderConfiguration refuses while a composition uses it (409, SPEC §5.5).
func (a *API) deleteEncoderConfiguration(ctx context.Context, in *arnInput) (*empty, error) {
	inUse := store.NotReferencedBy(arn.TypeComposition, in.Arn)
	return &empty{}, a.cfg.Store.EncoderConfigurations().Delete(ctx, in.Arn, inUse)
}
