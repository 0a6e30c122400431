// What the person may do with the campaign now, by its status and their role: the owner
// revises, submits, launches; the retailer's marketer approves or rejects with a reason;
// both may pause, resume and stop. Launch and stop move money: one Idempotency-Key per
// intended action, reused if the same action is retried.
import {
  Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, TextField as MuiTextField,
} from "@mui/material";
import { useRef, useState } from "react";
import {
  EditButton,
  TopToolbar,
  useGetIdentity,
  useLocaleState,
  useNotify,
  useRecordContext,
  useRefresh,
  useTranslate,
} from "react-admin";

import { apiFetch, newIdempotencyKey } from "../api";
import { formatMoney } from "../money";

type Action = "submit" | "approve" | "reject" | "launch" | "pause" | "resume" | "stop";

const MONEY_ACTIONS: Action[] = ["launch", "stop"];
const MANAGERS = ["supplier_manager", "retail_marketer", "admin"];
const APPROVERS = ["retail_marketer", "admin"];

export function availableActions(record: any, identity: any): { edit: boolean; actions: Action[] } {
  if (!record || !identity) return { edit: false, actions: [] };
  const owner = MANAGERS.includes(identity.role) && identity.organisation?.id === record.organisation_id;
  const approver = APPROVERS.includes(identity.role);
  const steer = owner || approver;
  const status: string = record.status;
  const actions: Action[] = [];
  if (owner && (status === "draft" || status === "rejected")) actions.push("submit");
  if (approver && status === "pending_approval") actions.push("approve", "reject");
  if (owner && status === "approved") actions.push("launch");
  if (steer && (status === "active" || status === "scheduled")) actions.push("pause");
  if (steer && status === "paused") actions.push("resume");
  if (steer && ["scheduled", "active", "paused"].includes(status)) actions.push("stop");
  const edit = owner && ["draft", "rejected", "pending_approval", "approved"].includes(status);
  return { edit, actions };
}

export const CampaignActions = () => {
  const record = useRecordContext();
  const { identity } = useGetIdentity();
  const translate = useTranslate();
  const notify = useNotify();
  const refresh = useRefresh();
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState<Action | null>(null);
  const [reason, setReason] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [locale] = useLocaleState();
  const keys = useRef<Partial<Record<Action, string>>>({});
  const { edit, actions } = availableActions(record, identity);
  if (!record) return null;

  const run = async (action: Action, body?: unknown) => {
    setBusy(true);
    const headers: Record<string, string> = {};
    if (MONEY_ACTIONS.includes(action)) {
      keys.current[action] ??= newIdempotencyKey();
      headers["Idempotency-Key"] = keys.current[action]!;
    }
    setFailure(null);
    try {
      await apiFetch(`/campaigns/${record.id}/${action}`, { method: "POST", body, headers });
      delete keys.current[action];
      notify(`vitrina.campaigns.done.${action}`, { type: "success" });
      setAsking(null);
      setReason("");
      refresh();
    } catch (error) {
      const message = refusal(error);
      // A refused action stays on screen next to the button that was pressed, not only in a
      // toast that disappears: the person reads why, fixes it, and tries again.
      if (asking) setFailure(message);
      notify(message, { type: "error" });
      refresh();
    } finally {
      setBusy(false);
    }
  };

  /** The API's refusal in the person's language where the cabinet knows its code (a short
   *  balance, a too-small audience), else the API's own message. */
  const refusal = (error: unknown): string => {
    const code: string | undefined = (error as any)?.body?.code;
    const budget = formatMoney(record.budget_minor, record.currency, locale);
    if (code) {
      const known = translate(`vitrina.campaigns.refused.${code}`, { budget, _: "" });
      if (known) return known;
    }
    return (error as Error).message;
  };

  const close = () => {
    setAsking(null);
    setFailure(null);
  };

  const needsDialog = (action: Action) => action === "reject" || action === "launch" || action === "stop";

  return (
    <TopToolbar>
      {edit && <EditButton />}
      {actions.map((action) => (
        <Button key={action} variant={action === "reject" || action === "stop" ? "outlined" : "contained"}
                color={action === "reject" || action === "stop" ? "error" : "primary"} disabled={busy}
                data-testid={`action-${action}`}
                onClick={() => (needsDialog(action) ? setAsking(action) : run(action))}>
          {translate(`vitrina.campaigns.actions.${action}`)}
        </Button>
      ))}
      <Dialog open={asking !== null} onClose={close} fullWidth maxWidth="sm">
        <DialogTitle>{asking && translate(`vitrina.campaigns.confirm.${asking}`, { name: record.name })}</DialogTitle>
        <DialogContent>
          {(asking === "reject" || asking === "stop") && (
            <MuiTextField autoFocus fullWidth multiline minRows={2} sx={{ mt: 1 }}
                          label={translate("vitrina.campaigns.reason")} value={reason}
                          required={asking === "reject"} inputProps={{ "data-testid": "reason" }}
                          onChange={(event) => setReason(event.target.value)} />
          )}
          {failure && <Alert severity="error" sx={{ mt: 1 }} data-testid="action-error">{failure}</Alert>}
        </DialogContent>
        <DialogActions>
          <Button onClick={close}>{translate("ra.action.cancel")}</Button>
          <Button variant="contained" data-testid="confirm-action"
                  disabled={busy || (asking === "reject" && !reason.trim())}
                  onClick={() => asking && run(asking, asking === "launch" ? undefined
                    : { reason: reason.trim() || null })}>
            {asking && translate(`vitrina.campaigns.actions.${asking}`)}
          </Button>
        </DialogActions>
      </Dialog>
    </TopToolbar>
  );
};
