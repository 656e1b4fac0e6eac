package content

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/problem"
)

// ErrNotOwner refuses a post by anyone but the campaign's owner.
var ErrNotOwner = problem.New(problem.Forbidden, "only the campaign's owner may post here")

// Limits of posts, in characters.
const (
	MaxBody    = 20000
	MaxVersion = 50
	MaxImage   = 2000
)

// NewUpdate is what an owner sends to post a campaign update.
type NewUpdate struct {
	Title   string  `json:"title"`
	Content string  `json:"content"`
	Image   *string `json:"image"`
}

// Validate checks u.
func (u *NewUpdate) Validate() error {
	if err := text(&u.Title, "title", 1, MaxTitle); err != nil {
		return err
	}
	if err := text(&u.Content, "content", 1, MaxBody); err != nil {
		return err
	}
	if u.Image != nil && *u.Image == "" {
		u.Image = nil
	}
	if u.Image != nil {
		img, err := url.Parse(*u.Image)
		if err != nil || (img.Scheme != "https" && img.Scheme != "http") || img.Host == "" || len(*u.Image) > MaxImage {
			return problem.InvalidField("image", "must be an http(s) URL of at most 2000 characters, or null")
		}
	}
	return nil
}

// NewRelease is what an owner sends to announce a release.
type NewRelease struct {
	Title   string `json:"title"`
	Version string `json:"version"`
	Notes   string `json:"notes"`
}

// Validate checks r.
func (r *NewRelease) Validate() error {
	if err := text(&r.Title, "title", 1, MaxTitle); err != nil {
		return err
	}
	if err := text(&r.Version, "version", 1, MaxVersion); err != nil {
		return err
	}
	return text(&r.Notes, "notes", 0, MaxBody)
}

// text trims *s and checks its length in characters.
func text(s *string, field string, min, max int) error {
	*s = strings.TrimSpace(*s)
	if n := utf8.RuneCountInString(*s); n < min || n > max {
		if min == 0 {
			return problem.InvalidField(field, fmt.Sprintf("must be at most %d characters", max))
		}
		return problem.InvalidField(field, fmt.Sprintf("must be %d to %d characters", min, max))
	}
	return nil
}

// ownedCampaign returns the campaign if by owns it: 404 if it does not exist
// or is private and not theirs, 403 if it is someone else's.
func (s *service) ownedCampaign(ctx context.Context, by auth.User, id int64) error {
	c, err := s.store.Campaign(ctx, id)
	switch {
	case err != nil:
		return err
	case c.Owner.ID == by.ID:
		return nil
	case c.Private:
		return ErrCampaignNotFound
	}
	return ErrNotOwner
}

func (s *service) PostUpdate(ctx context.Context, by auth.User, campaignID int64, u NewUpdate) (event.UpdateData, error) {
	if err := u.Validate(); err != nil {
		return event.UpdateData{}, err
	}
	if err := s.ownedCampaign(ctx, by, campaignID); err != nil {
		return event.UpdateData{}, err
	}
	return s.store.CreateUpdate(ctx, campaignID, u)
}

func (s *service) PostRelease(ctx context.Context, by auth.User, campaignID int64, r NewRelease) (event.ReleaseData, error) {
	if err := r.Validate(); err != nil {
		return event.ReleaseData{}, err
	}
	if err := s.ownedCampaign(ctx, by, campaignID); err != nil {
		return event.ReleaseData{}, err
	}
	return s.store.CreateRelease(ctx, campaignID, r)
}
