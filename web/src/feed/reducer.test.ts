import { describe, expect, it } from "vitest";

import { addMoney, formatMoney, fromCents, progressBasisPoints, toCents } from "./money";
import { feedReducer, initialFeedState, milestonesByTarget, type FeedState } from "./reducer";
import { contribution, cursor, view } from "./testserver";
import type { Milestone, MilestoneMessage, ServerMessage } from "./types";

function apply(...msgs: ServerMessage[]): FeedState {
  return msgs.reduce(feedReducer, initialFeedState);
}

const snapshot = (offset: number, patch = {}): ServerMessage => ({ type: "campaign_data", data: view(patch), cursor: cursor(offset) });

function milestone(offset: number, m: Partial<Milestone> & { id: number }): MilestoneMessage {
  return {
    type: "milestone",
    cursor: cursor(offset),
    event_id: `m-${offset}`,
    data: { campaign: 42, title: "Half way", target_amount: "500.00", status: "pending", reached_at: null, created_at: "2026-11-25T12:00:00Z", ...m },
  };
}

describe("money", () => {
  it.each([
    ["0.10", "0.20", "0.30"],
    ["999999999.99", "0.01", "1000000000.00"],
    ["25.5", "0.5", "26.00"],
    ["12345678901234567.89", "1.11", "12345678901234569.00"],
    ["1", "2", "3.00"],
  ])("%s + %s = %s exactly", (a, b, want) => {
    expect(addMoney(a, b)).toBe(want);
  });

  it("round-trips cents and refuses what is not a two-decimal amount", () => {
    expect(fromCents(toCents("100.05"))).toBe("100.05");
    expect(fromCents(-5n)).toBe("-0.05");
    for (const bad of ["", "1.234", "1e3", "abc", "1,00", "0x10"]) expect(() => toCents(bad)).toThrow(RangeError);
  });

  it("computes progress in integers, clamped", () => {
    expect(progressBasisPoints("0.00", "1000.00")).toBe(0);
    expect(progressBasisPoints("333.33", "1000.00")).toBe(3333);
    expect(progressBasisPoints("2000.00", "1000.00")).toBe(10000);
    expect(progressBasisPoints("1.00", "0.00")).toBe(10000);
  });

  it("formats from the decimal string", () => {
    expect(formatMoney("1234.50", "USD", "en-US")).toBe("$1,234.50");
    expect(formatMoney("0.10", "EUR", "en-US")).toBe("€0.10");
  });
});

describe("feedReducer", () => {
  it("adds contributions to the total and the count", () => {
    const s = apply(snapshot(1, { raised_amount: "10.10", contribution_count: 4 }), contribution(2, "0.20"), contribution(3, "0.70"));
    expect(s.campaign?.raised_amount).toBe("11.00");
    expect(s.campaign?.contribution_count).toBe(6);
    expect(s.campaign?.contributions.map((c) => c.amount)).toEqual(["0.70", "0.20"]);
    expect(s.cursor).toBe(cursor(3));
  });

  it("drops events at or before the cursor, and events before any snapshot", () => {
    const before = apply(contribution(5, "1.00"));
    expect(before).toBe(initialFeedState);
    const s = apply(snapshot(10), contribution(10, "1.00"), contribution(9, "1.00"));
    expect(s.campaign?.raised_amount).toBe("0.00");
    const same = feedReducer(s, contribution(8, "1.00"));
    expect(same).toBe(s);
  });

  it("counts one contribution id once even at a new cursor", () => {
    const k = contribution(2, "5.00");
    const s = apply(snapshot(1), k, { ...k, cursor: cursor(3) });
    expect(s.campaign?.raised_amount).toBe("5.00");
    expect(s.campaign?.contribution_count).toBe(1);
  });

  it("replaces everything on campaign_data and resets the cursor", () => {
    const s = apply(snapshot(50), contribution(51, "9.00"), snapshot(7, { raised_amount: "1.00", title: "Renamed" }));
    expect(s.cursor).toBe(cursor(7));
    expect(s.campaign?.title).toBe("Renamed");
    expect(s.campaign?.contributions).toEqual([]);
    expect(feedReducer(s, contribution(8, "1.00")).campaign?.raised_amount).toBe("2.00");
  });

  it("replaces a milestone with the same id where it stands, and adds new ones", () => {
    const s = apply(
      snapshot(1),
      milestone(2, { id: 1, title: "Kiln", target_amount: "100.00" }),
      milestone(3, { id: 2, title: "Shed", target_amount: "900.00" }),
      milestone(4, { id: 1, title: "Kiln", target_amount: "100.00", status: "reached", reached_at: "2026-11-25T13:00:00Z" }),
    );
    expect(s.campaign?.milestones.map((m) => [m.id, m.status])).toEqual([
      [2, "pending"],
      [1, "reached"],
    ]);
    expect(milestonesByTarget(s.campaign!).map((m) => m.id)).toEqual([1, 2]);
  });

  it("adds updates, comments and releases newest first", () => {
    const s = apply(
      snapshot(1),
      { type: "update", cursor: cursor(2), event_id: "u", data: { id: 1, campaign: 42, title: "Bricks", content: "in", image: null, created_at: "2026-11-25T12:00:00Z" } },
      { type: "comment", cursor: cursor(3), event_id: "c", data: { id: 1, campaign: 42, user: { id: 2, username: "bob" }, content: "Nice", created_at: "2026-11-25T12:00:00Z" } },
      { type: "release", cursor: cursor(4), event_id: "r", data: { id: 1, campaign: 42, title: "First fire", version: "v1", notes: "", created_at: "2026-11-25T12:00:00Z" } },
    );
    expect(s.campaign?.updates[0]?.title).toBe("Bricks");
    expect(s.campaign?.comments[0]?.content).toBe("Nice");
    expect(s.campaign?.releases[0]?.version).toBe("v1");
  });

  it("moves the cursor forward on resumed, never back; ignores pong and error", () => {
    const s = apply(snapshot(5), { type: "resumed", cursor: cursor(9) });
    expect(s.cursor).toBe(cursor(9));
    expect(feedReducer(s, { type: "resumed", cursor: cursor(3) })).toBe(s);
    expect(feedReducer(s, { type: "pong" })).toBe(s);
    expect(feedReducer(s, { type: "error", code: "x", message: "y" })).toBe(s);
  });

  it("ignores an event for another campaign", () => {
    const other = contribution(2, "1.00");
    other.data.campaign = 7;
    expect(apply(snapshot(1), other).campaign?.raised_amount).toBe("0.00");
  });
});
