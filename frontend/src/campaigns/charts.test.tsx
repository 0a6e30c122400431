import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { DayBars } from "./charts";

const draw = (days: { day: string; value: number | null }[]) =>
  renderToStaticMarkup(<DayBars days={days} text={String} empty="Пока нет данных"
                                hidden="Меньше 100 — скрыто ради приватности покупателей" />);

describe("the report's bars per day", () => {
  it("shows a day hidden for privacy as hidden, not as no data, and never its count", () => {
    const markup = draw([{ day: "2026-03-02", value: null }, { day: "2026-03-03", value: null }]);
    expect(markup).not.toContain("Пока нет данных");
    expect(markup).toContain("Меньше 100 — скрыто ради приватности покупателей");
    expect(markup.match(/data-hidden="true"/g)).toHaveLength(2);
  });

  it("draws visible days to scale and says nothing about privacy when nothing is hidden", () => {
    const markup = draw([{ day: "2026-03-02", value: 120 }, { day: "2026-03-03", value: 240 }]);
    expect(markup).toContain("2026-03-03: 240");
    expect(markup).not.toContain("скрыто");
  });

  it("says there is no data when every day is a visible zero", () => {
    expect(draw([{ day: "2026-03-02", value: 0 }])).toContain("Пока нет данных");
  });
});
