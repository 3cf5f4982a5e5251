package api

import (
	"context"
	"fmt"

	"github.com/footlight/footlight/internal/arn"
	"github.com/footlight/footlight/internal/store"
)

type s3Storage struct {
	BucketName string `json:"bucketName"`
}

type storageConfigurationOut struct {
	Arn  string            `json:"arn"`
	Name string            `json:"name"`
	S3   s3Storage         `json:"s3"`
	Tags map[string]string `json:"tags"`
}

func storageConfigurationOf(c *store.StorageConfiguration) storageConfigurationOut {
	return storageConfigurationOut{Arn: c.Arn, Name: c.Name, S3: s3Storage{c.BucketName}, Tags: tagsOut(c.Tags)}
}

type createStorageConfigurationInput struct {
	Name string            `json:"name"`
	S3   s3Storage         `json:"s3"`
	Tags map[string]string `json:"tags"`
}

type storageConfigurationOutput struct {
	StorageConfiguration storageConfigurationOut `json:"storageConfiguration"`
}

func (a *API) createStorageConfiguration(ctx context.Context, in *createStorageConfigurationInput) (*storageConfigurationOutput, error) {
	if err := a.checkBucket(ctx, in.S3.BucketName); err != nil {
		return nil, err
	}
	c := &store.StorageConfiguration{
		Arn:        a.newARN(arn.TypeStorageConfiguration),
		Name:       in.Name,
		BucketName: in.S3.BucketName,
		Tags:       tagsOut(in.Tags),
		CreatedAt:  a.cfg.Now().UTC(),
	}
	if err := a.cfg.Store.StorageConfigurations().Create(ctx, c.Arn, c, a.resourceGuards(arn.TypeStorageConfiguration)...); err != nil {
		return nil, err
	}
	return &storageConfigurationOutput{storageConfigurationOf(c)}, nil
}

func (a *API) getStorageConfiguration(ctx context.Context, in *arnInput) (*storageConfigurationOutput, error) {
	c, err := a.cfg.Store.StorageConfigurations().Get(ctx, in.Arn)
	if err != nil {
		return nil, err
	}
	return &storageConfigurationOutput{storageConfigurationOf(c)}, nil
}

type listStorageConfigurationsOutput struct {
	StorageConfigurations []storageConfigurationOut `json:"storageConfigurations"`
	NextToken             string                    `json:"nextToken,omitempty"`
}

func (a *API) listStorageConfigurations(ctx context.Context, in *pageInput) (*listStorageConfigurationsOutput, error) {
	list, next, err := a.cfg.Store.StorageConfigurations().List(ctx, in.page(100))
	if err != nil {
		return nil, err
	}
	out := &listStorageConfigurationsOutput{StorageConfigurations: make([]storageConfigurationOut, len(list)), NextToken: next}
	for i := range list {
		out.StorageConfigurations[i] = storageConfigurationOf(&list[i])
	}
	return out, nil
}

// deleteStorageConfiguration refuses while a stage records to it (409, SPEC §5.6).
func (a *API) deleteStorageConfiguration(ctx context.Context, in *arnInput) (*empty, error) {
	inUse := store.NotReferencedBy(arn.TypeStage, in.Arn)
	return &empty{}, a.cfg.Store.StorageConfigurations().Delete(ctx, in.Arn, inUse)
}

func (a *API) newARN(typ string) string {
	return arn.ARN{Region: a.cfg.Region, Account: a.cfg.Account, Type: typ, ID: arn.RandomID(arn.ResourceIDLength)}.String()
}

// checkBucket refuses a bucket the recording store does not have, naming s3.bucketName as
// IVS does.
func (a *API) checkBucket(ctx context.Context, bucket string) error {
	if a.cfg.Buckets == nil {
		return nil
	}
	ok, err := a.cfg.Buckets.BucketExists(ctx, bucket)
	switch {
	case err != nil:
		a.log.Warn("bucket check failed", "bucket", bucket, "err", err)
		return validation(fmt.Sprintf("s3.bucketName: bucket %q could not be reached in the recording store", bucket))
	case !ok:
		return validation(fmt.Sprintf("s3.bucketName: bucket %q does not exist in the recording store", bucket))
	}
	return nil
}
