// The menu: what the logged-in role works with, in the order it works. The role decides it
// here at once, rather than one access check per item.
import AccountBalanceWalletIcon from "@mui/icons-material/AccountBalanceWallet";
import { createElement } from "react";
import { Menu as RaMenu, useGetIdentity, useResourceDefinitions, useTranslate } from "react-admin";

import type { Role } from "../api";

const ITEMS: Record<Role, string[]> = {
  supplier_manager: ["segments", "balance", "ledger", "topups"],
  retail_marketer: ["segments", "guardrails", "organisations", "users"],
  finance_officer: ["accounts", "topups", "ledger", "organisations"],
  admin: ["segments", "guardrails", "accounts", "topups", "ledger", "organisations", "users"],
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
        name === "balance" ? (
          <RaMenu.Item key={name} to="/balance" primaryText={translate("vitrina.menu.balance")}
                       leftIcon={<AccountBalanceWalletIcon />} />
        ) : (
          <RaMenu.Item key={name} to={`/${name}`}
                       primaryText={translate(`resources.${name}.name`, { smart_count: 2 })}
                       leftIcon={resources[name]?.icon ? createElement(resources[name].icon) : undefined} />
        ),
      )}
    </RaMenu>
  );
};
