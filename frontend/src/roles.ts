// Who may open what. The API enforces access; this only decides the menu and shows a clear
// "access denied" page instead of a failing screen when someone opens another role's page.
import type { Role } from "./api";

type Action = "list" | "show" | "create" | "edit" | "delete" | "export" | string;

const ALL: Action[] = ["list", "show", "create", "edit", "delete", "export"];
const READ: Action[] = ["list", "show", "export"];

export const ACCESS: Record<Role, Record<string, Action[]>> = {
  supplier_manager: {
    dashboard: READ,
    segments: ALL,
    balance: READ,
    ledger: READ,
    topups: READ,
  },
  retail_marketer: {
    dashboard: READ,
    segments: ALL,
    guardrails: ALL,
    organisations: ["list", "show", "create"],
    users: ["list", "show", "create"],
  },
  finance_officer: {
    dashboard: READ,
    accounts: READ,
    ledger: READ,
    topups: [...READ, "create"],
    organisations: ["list", "show"],
  },
  admin: {
    dashboard: READ,
    segments: ALL,
    guardrails: ALL,
    organisations: ["list", "show", "create"],
    users: ["list", "show", "create", "edit"],
    accounts: READ,
    ledger: READ,
    topups: [...READ, "create"],
  },
};

export function canAccess(role: Role | undefined, resource: string, action: Action): boolean {
  if (!role) return false;
  return (ACCESS[role]?.[resource] ?? []).includes(action);
}

export const isRetailer = (role: Role | undefined) => role !== undefined && role !== "supplier_manager";
