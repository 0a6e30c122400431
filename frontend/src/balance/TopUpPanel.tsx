// Top up the balance: by card when the retailer has connected Stripe, otherwise by bank
// transfer, which the retailer's finance officer records when the money arrives.
import { Alert, Box, Button, TextField, Typography } from "@mui/material";
import { useRef, useState } from "react";
import { useGetIdentity, useNotify, useTranslate } from "react-admin";

import { apiFetch, newIdempotencyKey } from "../api";
import { parseRoubles } from "../money";

export const TopUpPanel = () => {
  const translate = useTranslate();
  const notify = useNotify();
  const { identity } = useGetIdentity();
  const [amount, setAmount] = useState("");
  const [cardOff, setCardOff] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<number | null>(null);
  // One key per intended payment: a double click or a retry cannot pay twice.
  const key = useRef(newIdempotencyKey());
  const minor = parseRoubles(amount);

  const payByCard = async () => {
    setError(null);
    if (minor === null || minor <= 0) {
      setError(translate("vitrina.money.invalid"));
      return;
    }
    try {
      const { json } = await apiFetch<{ id: number }>("/topups", {
        method: "POST", body: { amount_minor: minor }, headers: { "Idempotency-Key": key.current } });
      setStarted(json.id);
      key.current = newIdempotencyKey();
    } catch (e: any) {
      if (e.body?.code === "card_top_ups_not_configured") setCardOff(true);
      else if (e.body?.errors?.amount_minor) setError(e.body.errors.amount_minor);
      else notify(e.message, { type: "error" });
    }
  };

  const organisation = identity?.organisation;
  return (
    <Box data-testid="topup">
      {!cardOff && (
        <Box sx={{ mb: 2 }}>
          <Typography variant="subtitle1">{translate("vitrina.balance.card")}</Typography>
          <Box sx={{ display: "flex", gap: 1, alignItems: "flex-start" }}>
            <TextField size="small" label={translate("vitrina.balance.card_amount")} value={amount}
                       error={!!error} helperText={error ?? undefined} inputProps={{ inputMode: "decimal" }}
                       onChange={(e) => setAmount(e.target.value)} />
            <Button variant="contained" onClick={payByCard}>{translate("vitrina.balance.card_pay")}</Button>
          </Box>
          {started !== null && (
            <Alert severity="info" sx={{ mt: 1 }}>{translate("vitrina.balance.card_started", { id: started })}</Alert>
          )}
        </Box>
      )}
      {cardOff && <Alert severity="info" sx={{ mb: 1 }}>{translate("vitrina.balance.card_off")}</Alert>}
      <Typography variant="subtitle1">{translate("vitrina.balance.bank")}</Typography>
      <Typography variant="body2" data-testid="bank-instructions">
        {translate("vitrina.balance.bank_instructions", { id: organisation?.id ?? "", name: organisation?.name ?? "" })}
      </Typography>
    </Box>
  );
};
