// The menu: what the logged-in role works with, in the order it works. The role decides it
// here at once, rather than one access check per item.
import AccountBalanceWalletIcon from "@mui/icons-material/AccountBalanceWallet";
import FactCheckIcon from "@mui/icons-material/FactCheck";
import { createElement, type ReactElement } from "react";
import { Menu as RaMenu, useGetIdentity, useResourceDefinitions, useTranslate } from "react-admin";

import type { Role } from "../api";

const ITEMS: Record<Role, string[]> = {
  supplier_manager: ["campaigns", "segments", "balance", "ledger", "topups", "audit"],
  retail_marketer: ["approvals", "campaigns", "segments", "guardrails", "antifraud", "organisations", "users", "audit"],
  finance_officer: ["accounts", "topups", "ledger", "organisations", "audit"],
  admin: ["approvals", "campaigns", "segments", "guardrails", "antifraud", "accounts", "topups", "ledger",
    "organisations", "users", "audit"],
};

/** Pages that are not a resource's list: their path, label and icon. */
const PAGES: Record<string, { to: string; label: string; icon: ReactElement }> = {
  balance: { to: "/balance", label: "vitrina.menu.balance", icon: <AccountBalanceWalletIcon /> },
  approvals: { to: "/approvals", label: "vitrina.menu.approvals", icon: <FactCheckIcon /> },
};

export const Menu = () => {
  const { identity } = useGetIdentity();
  const translate = useTranslate();
  const resources = useResourceDefinitions();
  const role = identity?.role as Role | undefined;
  return (
    <RaMenu>
      <RaMenu.DashboardItem />
      {(role ? ITEMS[role] : []).map((name) =>
        PAGES[name] ? (
          <RaMenu.Item key={name} to={PAGES[name].to} primaryText={translate(PAGES[name].label)}
                       leftIcon={PAGES[name].icon} />
        ) : (
          <RaMenu.Item key={name} to={`/${name}`}
                       primaryText={translate(`resources.${name}.name`, { smart_count: 2 })}
                       leftIcon={resources[name]?.icon ? createElement(resources[name].icon) : undefined} />
        ),
      )}
    </RaMenu>
  );
};
