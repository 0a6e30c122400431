// Download an account's CSV statement (it needs the login token, so not a plain link).
import { apiFetch } from "../api";

export async function downloadStatement(accountId: number, from: string, to: string): Promise<void> {
  const query = new URLSearchParams({ from, to });
  const { json: blob } = await apiFetch<Blob>(`/accounts/${accountId}/statement.csv?${query}`, { raw: true });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `statement-${accountId}-${from}-${to}.csv`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Today and the first of this month in the person's own calendar, as ISO dates. */
export function thisMonth(): { from: string; to: string } {
  const now = new Date();
  const iso = (d: Date) =>
    `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  return { from: iso(new Date(now.getFullYear(), now.getMonth(), 1)), to: iso(now) };
}
