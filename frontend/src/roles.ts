// Who may open what. The API enforces access; this only decides the menu and shows a clear
// "access denied" page instead of a failing screen when someone opens another role's page.
import type { Role } from "./api";

type Action = "list" | "show" | "create" | "edit" | "delete" | "export" | string;

const ALL: Action[] = ["list", "show", "create", "edit", "delete", "export"];
const READ: Action[] = ["list", "show", "export"];

export const ACCESS: Record<Role, Record<string, Action[]>> = {
  supplier_manager: {
    dashboard: READ,
    campaigns: ["list", "show", "create", "edit"],
    segments: ALL,
    balance: READ,
    ledger: READ,
    topups: READ,
    audit: READ,
  },
  retail_marketer: {
    dashboard: READ,
    approvals: READ,
    campaigns: ["list", "show", "create", "edit"],
    segments: ALL,
    guardrails: ALL,
    organisations: ["list", "show", "create"],
    users: ["list", "show", "create"],
    antifraud: READ,
    audit: READ,
  },
  finance_officer: {
    dashboard: READ,
    accounts: READ,
    ledger: READ,
    topups: [...READ, "create"],
    organisations: ["list", "show"],
    audit: READ,
  },
  admin: {
    dashboard: READ,
    approvals: READ,
    campaigns: ["list", "show", "create", "edit"],
    segments: ALL,
    guardrails: ALL,
    organisations: ["list", "show", "create"],
    users: ["list", "show", "create", "edit"],
    accounts: READ,
    ledger: READ,
    topups: [...READ, "create"],
    antifraud: READ,
    audit: READ,
  },
};

export function canAccess(role: Role | undefined, resource: string, action: Action): boolean {
  if (!role) return false;
  return (ACCESS[role]?.[resource] ?? []).includes(action);
}

export const isRetailer = (role: Role | undefined) => role !== undefined && role !== "supplier_manager";
