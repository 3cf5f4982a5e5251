package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func open(t *testing.T, dir string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func stageArn(i int) string {
	return fmt.Sprintf("arn:aws:ivs:us-east-1:123456789012:stage/stage%07d", i)
}

func TestPagination(t *testing.T) {
	s, ctx := open(t, t.TempDir()), context.Background()
	for i := 0; i < 7; i++ {
		if err := s.Stages().Create(ctx, stageArn(i), &Stage{Arn: stageArn(i), Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Stages().Delete(ctx, stageArn(3)) // a gap in the sequence must not break paging
	var got []string
	tok := ""
	for pages := 0; ; pages++ {
		page, next, err := s.Stages().List(ctx, Page{Token: tok, Max: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page {
			got = append(got, st.Name)
		}
		if next == "" {
			break
		}
		if next == tok || pages > 10 {
			t.Fatalf("token did not advance: %q", next)
		}
		tok = next
	}
	if fmt.Sprint(got) != "[0 1 2 4 5 6]" {
		t.Fatalf("listed %v", got)
	}
	if _, _, err := s.Stages().List(ctx, Page{Token: "garbage!", Max: 2}); !errors.Is(err, ErrInvalidPageToken) {
		t.Fatalf("garbage token: %v", err)
	}
	_, next, _ := s.Stages().List(ctx, Page{Max: 1})
	if _, _, err := s.StorageConfigurations().List(ctx, Page{Token: next, Max: 1}); !errors.Is(err, ErrInvalidPageToken) {
		t.Fatalf("a stage token used on another listing: %v", err)
	}
}

func TestTagsAndGuards(t *testing.T) {
	dir := t.TempDir()
	s, ctx := open(t, dir), context.Background()
	sc := "arn:aws:ivs:us-east-1:123456789012:storage-configuration/sc0000000001"
	if err := s.StorageConfigurations().Create(ctx, sc, &StorageConfiguration{Arn: sc, BucketName: "b1", Tags: Tags{}}); err != nil {
		t.Fatal(err)
	}
	st := &Stage{Arn: stageArn(1), Recording: Recording{StorageConfigurationArn: sc}, Tags: Tags{"a": "1"}}
	if err := s.CreateStageWithTokens(ctx, st, []ParticipantToken{{ParticipantID: "p1", StageArn: st.Arn}}); err != nil {
		t.Fatal(err)
	}
	if err := s.StorageConfigurations().Delete(ctx, sc, NotReferencedBy("stage", sc)); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete of a used configuration: %v, want ErrConflict", err)
	}
	if err := s.Tag(ctx, st.Arn, Tags{"b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag(ctx, st.Arn, []string{"a", "missing"}); err != nil {
		t.Fatal(err)
	}
	many := Tags{}
	for i := 0; i < MaxTags; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	if err := s.Tag(ctx, st.Arn, many); !errors.Is(err, ErrTooManyTags) {
		t.Fatalf("51 tags: %v", err)
	}
	if err := s.Tag(ctx, "arn:aws:ivs:us-east-1:123456789012:stage/none", Tags{"x": "y"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tag a missing resource: %v", err)
	}
	s.Close()

	s = open(t, dir) // everything survives a reopen
	tags, err := s.Tags(ctx, st.Arn)
	if err != nil || len(tags) != 1 || tags["b"] != "2" {
		t.Fatalf("tags after reopen = %v, %v", tags, err)
	}
	if _, err := s.ParticipantToken(ctx, "p1"); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
	if err := s.Stages().Delete(ctx, st.Arn); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ParticipantToken(ctx, "p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token of a deleted stage: %v", err)
	}
	if err := s.StorageConfigurations().Delete(ctx, sc, NotReferencedBy("stage", sc)); err != nil {
		t.Fatalf("delete once unused: %v", err)
	}
}
