import { describe, expect, it } from "vitest";

import { discounted } from "./price";
import { toCampaignBody, toForecastRequest } from "./transform";

const typed = {
  name: "Milk week", segment_id: 3, skus: ["A-1"], starts_at: "2026-03-02", ends_at: "2026-03-15",
  store_ids: [], regions: ["Москва"], depth_mode: "fixed", discount_bp: "12,5", min_discount_bp: "5",
  goal: "units", limit_units_per_week: "", holdout_bp: "10", budget_minor: "1 500,50",
};

describe("the wizard's values as the API's campaign", () => {
  it("turns roubles into kopecks and percentages into basis points, days into the period", () => {
    const body = toCampaignBody(typed);
    expect(body.budget_minor).toBe(150050);
    expect(body.discount_bp).toBe(1250);
    expect(body.holdout_bp).toBe(1000);
    expect(body.starts_at).toBe("2026-03-02T00:00:00");
    expect(body.ends_at).toBe("2026-03-15T23:59:59");
    expect(body.store_ids).toBeNull();
    expect(body.regions).toEqual(["Москва"]);
    expect(body.limit_units_per_week).toBeNull();
    // A fixed depth sends no AI range or goal.
    expect(body.min_discount_bp).toBeNull();
    expect(body.goal).toBeNull();
  });

  it("keeps a saved timestamp as it is and drops the read-only fields", () => {
    const body = toCampaignBody({ ...typed, id: 7, status: "rejected", timeline: [],
      starts_at: "2026-03-02T00:00:00+03:00" });
    expect(body.starts_at).toBe("2026-03-02T00:00:00+03:00");
    expect(body).not.toHaveProperty("id");
    expect(body).not.toHaveProperty("status");
    expect(body).not.toHaveProperty("timeline");
  });

  it("asks the forecast for an AI range with its goal", () => {
    const request = toForecastRequest({ ...typed, depth_mode: "ai", min_discount_bp: "5", max_discount_bp: "25",
      goal: "revenue" });
    expect(request.depth).toEqual({ kind: "ai", min_bp: 500, max_bp: 2500, goal: "revenue" });
    expect(request.starts_on).toBe("2026-03-02");
    expect(request.ends_on).toBe("2026-03-15");
    expect(request.budget_minor).toBe(150050);
    expect(request.holdout_share).toBe(0.1);
  });
});

describe("the app preview's price", () => {
  it("takes the discount off in whole kopecks, half up", () => {
    expect(discounted(9499, 2000)).toBe(7599);
    expect(discounted(9499, 1500)).toBe(8074);
    expect(discounted(100, 3333)).toBe(67);
  });
});
