package comment

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/auth"
	"github.com/campaign-live/campaign-live/pkg/event"
	"github.com/campaign-live/campaign-live/pkg/problem"
	"github.com/campaign-live/campaign-live/pkg/replica"
)

func TestNewCommentValidate(t *testing.T) {
	tests := []struct {
		name, content string
		want          string // the trimmed content, or "" when refused
	}{
		{"plain", "Great project!", "Great project!"},
		{"trimmed", " \n\tnice\t\n ", "nice"},
		{"inner space kept", "two  words\nand a line", "two  words\nand a line"},
		{"one character", "x", "x"},
		{"at the limit in runes", strings.Repeat("é", MaxContent), strings.Repeat("é", MaxContent)},
		{"at the limit once trimmed", "  " + strings.Repeat("a", MaxContent) + "  ", strings.Repeat("a", MaxContent)},
		{"empty", "", ""},
		{"blank", " \t\n ", ""},
		{"one over the limit", strings.Repeat("é", MaxContent+1), ""},
		{"NUL", "a\x00b", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewComment{Content: tc.content}
			err := c.Validate()
			if tc.want == "" {
				if p := problem.From(err); err == nil || p.Kind != problem.Invalid || p.Field != "content" {
					t.Fatalf("Validate(%.20q) = %v, want a 400 naming content", tc.content, err)
				}
				return
			}
			if err != nil || c.Content != tc.want {
				t.Fatalf("Validate(%.20q) = %v with %.20q, want nil with %.20q", tc.content, err, c.Content, tc.want)
			}
		})
	}
}

type campaigns map[int64]replica.Campaign

func (cs campaigns) Campaign(_ context.Context, id int64) (replica.Campaign, error) {
	if c, ok := cs[id]; ok {
		return c, nil
	}
	return replica.Campaign{}, replica.ErrCampaignNotFound
}

type store struct{ created []NewComment }

func (s *store) CreateComment(_ context.Context, by auth.User, c NewComment) (event.CommentData, error) {
	s.created = append(s.created, c)
	return event.CommentData{ID: 1, Campaign: c.CampaignID, User: event.User(by), Content: c.Content}, nil
}

// TestCommentRules: anyone may comment on a public campaign, only its owner
// on a private one, and nobody on a campaign the replica does not know.
func TestCommentRules(t *testing.T) {
	ada, bob := auth.User{ID: 1, Username: "ada"}, auth.User{ID: 2, Username: "bob"}
	cs := campaigns{
		10: {ID: 10, Owner: event.User{ID: 1, Username: "ada"}, Currency: "USD"},
		11: {ID: 11, Owner: event.User{ID: 1, Username: "ada"}, Currency: "USD", Private: true},
	}
	tests := []struct {
		name     string
		by       auth.User
		campaign int64
		content  string
		want     error
	}{
		{"owner, public", ada, 10, "hi", nil},
		{"other user, public", bob, 10, "hi", nil},
		{"owner, private", ada, 11, "hi", nil},
		{"other user, private", bob, 11, "hi", ErrCampaignNotFound},
		{"no such campaign", ada, 12, "hi", ErrCampaignNotFound},
		{"invalid before lookup", ada, 12, " ", problem.InvalidField("content", "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &store{}
			got, err := NewService(cs, st).Comment(context.Background(), tc.by, NewComment{CampaignID: tc.campaign, Content: tc.content})
			if tc.want != nil {
				if !errors.Is(err, tc.want) || len(st.created) != 0 {
					t.Fatalf("Comment = %v (stored %d), want %v and nothing stored", err, len(st.created), tc.want)
				}
				return
			}
			if err != nil || len(st.created) != 1 || got.User.ID != tc.by.ID {
				t.Fatalf("Comment = %+v, %v (stored %d), want one comment by %v", got, err, len(st.created), tc.by)
			}
		})
	}
}
