import DownloadIcon from "@mui/icons-material/Download";
import { Box, Button, MenuItem, TextField } from "@mui/material";
import { useState } from "react";
import { useNotify, useTranslate } from "react-admin";

import { downloadStatement, thisMonth } from "./statement";

export interface AccountOption {
  id: number;
  label: string;
}

export const StatementExport = ({ accounts }: { accounts: AccountOption[] }) => {
  const translate = useTranslate();
  const notify = useNotify();
  const [range, setRange] = useState(thisMonth());
  const [accountId, setAccountId] = useState<number | "">(accounts[0]?.id ?? "");
  const [busy, setBusy] = useState(false);
  const chosen = accountId === "" ? accounts[0]?.id : accountId;
  const download = async () => {
    if (!chosen) return;
    setBusy(true);
    try {
      await downloadStatement(chosen, range.from, range.to);
    } catch (error: any) {
      notify("vitrina.balance.statement_failed", { type: "error", messageArgs: { message: error.message } });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box sx={{ display: "flex", gap: 1, flexWrap: "wrap", alignItems: "center" }} data-testid="statement">
      {accounts.length > 1 && (
        <TextField select size="small" label={translate("vitrina.balance.statement_account")}
                   value={chosen ?? ""} onChange={(e) => setAccountId(Number(e.target.value))} sx={{ minWidth: 220 }}>
          {accounts.map((a) => <MenuItem key={a.id} value={a.id}>{a.label}</MenuItem>)}
        </TextField>
      )}
      <TextField size="small" type="date" label={translate("vitrina.balance.statement_from")} value={range.from}
                 InputLabelProps={{ shrink: true }} onChange={(e) => setRange({ ...range, from: e.target.value })} />
      <TextField size="small" type="date" label={translate("vitrina.balance.statement_to")} value={range.to}
                 InputLabelProps={{ shrink: true }} onChange={(e) => setRange({ ...range, to: e.target.value })} />
      <Button variant="outlined" startIcon={<DownloadIcon />} disabled={!chosen || busy} onClick={download}>
        {translate("vitrina.balance.statement_download")}
      </Button>
    </Box>
  );
};
