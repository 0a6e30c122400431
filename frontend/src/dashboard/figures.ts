// Figures a supplier's dashboard derives from the ledger, in integer kopecks.

export interface Posting {
  kind: string;
  account_kind: string;
  amount_minor: number;
  created_at: string;
  campaign_id: string | null;
}

/** Monday 00:00 of this week in the person's own time zone. */
export function startOfWeek(now = new Date()): Date {
  const day = (now.getDay() + 6) % 7;
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - day);
}

export function localDay(moment: string | Date): string {
  const d = new Date(moment);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Discounts paid: a capture takes money out of a campaign's `authorized` account. */
export function isSpend(p: Posting): boolean {
  return p.kind === "capture" && p.account_kind === "authorized" && p.amount_minor < 0;
}

export function spendSince(postings: Posting[], since: Date): number {
  return postings.filter((p) => isSpend(p) && new Date(p.created_at) >= since)
    .reduce((sum, p) => sum - p.amount_minor, 0);
}

/** Spend per local day for the last `days` days, oldest first. */
export function spendByDay(postings: Posting[], days: number, now = new Date()): { day: string; minor: number }[] {
  const out: { day: string; minor: number }[] = [];
  const index: Record<string, number> = {};
  for (let i = days - 1; i >= 0; i--) {
    const day = localDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() - i));
    index[day] = out.length;
    out.push({ day, minor: 0 });
  }
  for (const p of postings) {
    if (!isSpend(p)) continue;
    const at = index[localDay(p.created_at)];
    if (at !== undefined) out[at].minor -= p.amount_minor;
  }
  return out;
}
