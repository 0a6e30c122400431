// Money arrives as integer minor units (kopecks) and is never turned into a float: it is
// split by integer arithmetic (BigInt) and handed to Intl as an exact decimal string.

export type Minor = number | bigint;

const MINOR_DIGITS = 2;
const SCALE = 10n ** BigInt(MINOR_DIGITS);

/** The amount as an exact decimal string: 123456 -> "1234.56", -5 -> "-0.05". */
export function minorToDecimal(minor: Minor): string {
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / SCALE;
  const fraction = (abs % SCALE).toString().padStart(MINOR_DIGITS, "0");
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** "1 234,56 ₽" (ru) or "RUB 1,234.56" (en): Intl formats the exact decimal string. */
export function formatMoney(minor: Minor | null | undefined, currency = "RUB", locale = "ru"): string {
  if (minor === null || minor === undefined) return "";
  const format = new Intl.NumberFormat(locale === "ru" ? "ru-RU" : "en-GB", {
    style: "currency",
    currency,
    minimumFractionDigits: MINOR_DIGITS,
    maximumFractionDigits: MINOR_DIGITS,
  });
  // Intl.NumberFormat takes decimal strings exactly (ECMA-402 "Intl.NumberFormat v3").
  return format.format(minorToDecimal(minor) as unknown as number);
}

const AMOUNT = /^([+-]?)(\d{1,15})(?:[.,](\d{1,2}))?$/;

/** Roubles as a person types them ("1 500", "1500,5", "1 234.56 ₽") -> kopecks, or null
 *  when the text is not an amount with at most two decimals. */
export function parseRoubles(text: string | number | null | undefined): number | null {
  if (text === null || text === undefined) return null;
  const cleaned = String(text).replace(/[\s\u00a0\u202f₽]|руб\.?|RUB/gi, "");
  const match = AMOUNT.exec(cleaned);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  const minor = BigInt(whole) * SCALE + BigInt(fraction.padEnd(MINOR_DIGITS, "0"));
  const signed = sign === "-" ? -minor : minor;
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || -signed > BigInt(Number.MAX_SAFE_INTEGER)) {
    return null;
  }
  return Number(signed);
}

/** Kopecks as the text a money input starts from: 150000 -> "1500,00" (ru). */
export function minorToInput(minor: Minor | null | undefined, locale = "ru"): string {
  if (minor === null || minor === undefined) return "";
  const text = minorToDecimal(minor);
  return locale === "ru" ? text.replace(".", ",") : text;
}

/** Basis points as a percentage string without floats: 1250 -> "12.5 %". */
export function formatBasisPoints(bp: number | null | undefined, locale = "ru"): string {
  if (bp === null || bp === undefined) return "";
  const value = BigInt(bp);
  const whole = value / 100n;
  const rest = (value < 0n ? -value : value) % 100n;
  let text = rest === 0n ? `${whole}` : `${whole}.${rest.toString().padStart(2, "0").replace(/0$/, "")}`;
  if (locale === "ru") text = text.replace(".", ",");
  return `${text} %`;
}

/** "12,5" or "12.5" (percent) -> 1250 basis points, or null. */
export function parsePercentToBasisPoints(text: string | number | null | undefined): number | null {
  if (text === null || text === undefined || text === "") return null;
  const match = /^(\d{1,5})(?:[.,](\d{1,2}))?$/.exec(String(text).replace(/[\s%]/g, ""));
  if (!match) return null;
  return Number(BigInt(match[1]) * 100n + BigInt((match[2] ?? "").padEnd(2, "0")));
}
