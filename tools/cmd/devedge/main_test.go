package main

import "testing"

func TestCampaignSub(t *testing.T) {
	m := campaignSub("contributions")
	for path, want := range map[string]bool{
		"/api/campaigns/42/contributions":      true,
		"/api/campaigns/42/contributions/7":    true,
		"/api/campaigns/42/contributionsx":     false,
		"/api/campaigns/42":                    false,
		"/api/campaigns/42/comments":           false,
		"/api/live/campaigns/42/contributions": false,
	} {
		if got := m(path); got != want {
			t.Errorf("campaignSub(contributions)(%q) = %v, want %v", path, got, want)
		}
	}
}
