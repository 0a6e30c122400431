import { describe, expect, it } from "vitest";

import {
  formatBasisPoints,
  formatMoney,
  minorToDecimal,
  minorToInput,
  parsePercentToBasisPoints,
  parseRoubles,
} from "./money";

describe("money", () => {
  it("splits kopecks exactly, also past float precision", () => {
    expect(minorToDecimal(123456)).toBe("1234.56");
    expect(minorToDecimal(-5)).toBe("-0.05");
    expect(minorToDecimal(0)).toBe("0.00");
    expect(minorToDecimal(9007199254740993n)).toBe("90071992547409.93");
  });

  it("formats roubles with kopecks in both languages", () => {
    expect(formatMoney(123456, "RUB", "ru").replace(/\s/g, " ")).toBe("1 234,56 ₽");
    expect(formatMoney(123456, "RUB", "en")).toContain("1,234.56");
    expect(formatMoney(10, "RUB", "ru").replace(/\s/g, " ")).toBe("0,10 ₽");
    expect(formatMoney(null)).toBe("");
  });

  it("reads amounts as people type them, refusing a third decimal", () => {
    expect(parseRoubles("1 500")).toBe(150000);
    expect(parseRoubles("1500,5")).toBe(150050);
    expect(parseRoubles("0.01")).toBe(1);
    expect(parseRoubles("1 234,56 ₽")).toBe(123456);
    expect(parseRoubles("0.10")).toBe(10);
    expect(parseRoubles("1.005")).toBeNull();
    expect(parseRoubles("abc")).toBeNull();
    expect(parseRoubles("")).toBeNull();
    expect(minorToInput(150050)).toBe("1500,50");
  });

  it("shows and reads basis points as percentages", () => {
    expect(formatBasisPoints(1250, "en")).toBe("12.5 %");
    expect(formatBasisPoints(1000, "ru")).toBe("10 %");
    expect(formatBasisPoints(5, "en")).toBe("0.05 %");
    expect(parsePercentToBasisPoints("12,5")).toBe(1250);
    expect(parsePercentToBasisPoints("x")).toBeNull();
  });
});
