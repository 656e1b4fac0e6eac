package content

import (
	"strings"
	"testing"

	"github.com/campaign-live/campaign-live/pkg/problem"
)

func TestNewCampaignValidate(t *testing.T) {
	ok := NewCampaign{Title: "Kiln", GoalAmount: "10", Currency: "USD"}
	tests := []struct {
		name  string
		edit  func(*NewCampaign)
		field string
	}{
		{"valid", func(*NewCampaign) {}, ""},
		{"blank title", func(c *NewCampaign) { c.Title = " \t" }, "title"},
		{"long title", func(c *NewCampaign) { c.Title = strings.Repeat("é", MaxTitle+1) }, "title"},
		{"title at the limit", func(c *NewCampaign) { c.Title = strings.Repeat("é", MaxTitle) }, ""},
		{"long description", func(c *NewCampaign) { c.Description = strings.Repeat("a", MaxDescription+1) }, "description"},
		{"goal zero", func(c *NewCampaign) { c.GoalAmount = "0" }, "goal_amount"},
		{"goal float text", func(c *NewCampaign) { c.GoalAmount = "1e3" }, "goal_amount"},
		{"currency", func(c *NewCampaign) { c.Currency = "US" }, "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if got := fieldOf(err); got != tc.field {
				t.Fatalf("Validate() = %v, want a fault in %q", err, tc.field)
			}
		})
	}
	c := ok
	_ = c.Validate()
	if c.GoalAmount != "10.00" {
		t.Errorf("goal normalized to %q, want 10.00", c.GoalAmount)
	}
}

func fieldOf(err error) string {
	if err == nil {
		return ""
	}
	return problem.From(err).Field
}
