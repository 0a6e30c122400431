// Top up the balance: by card when the retailer has connected Stripe, otherwise by bank
// transfer, which the retailer's finance officer records when the money arrives. Whether
// cards work, the publishable key and where Stripe.js loads from come from the API at run
// time (GET /billing/config), not from the build.
import { Alert, Box, Button, TextField, Typography } from "@mui/material";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useGetIdentity, useNotify, useTranslate } from "react-admin";

import { apiFetch, newIdempotencyKey } from "../api";
import { parseRoubles } from "../money";

interface PaymentConfig {
  card_top_ups: boolean;
  stripe_publishable_key: string | null;
  stripe_js_url: string | null;
}

/** Stripe.js, loaded once from the configured address (Stripe's servers in production). */
const scripts = new Map<string, Promise<any>>();
function loadStripe(url: string, key: string): Promise<any> {
  if (!scripts.has(url)) {
    scripts.set(url, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve((window as any).Stripe);
      script.onerror = () => reject(new Error("vitrina.errors.network"));
      document.head.appendChild(script);
    }));
  }
  return scripts.get(url)!.then((Stripe) => Stripe(key));
}

/** The card form: Stripe's own card field (the card number never touches our servers). */
const CardPayment = ({ config }: { config: PaymentConfig }) => {
  const translate = useTranslate();
  const notify = useNotify();
  const [amount, setAmount] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const mount = useRef<HTMLDivElement>(null);
  const stripe = useRef<{ client: any; card: any } | null>(null);
  // One key per intended payment: a double click or a retry cannot pay twice.
  const key = useRef(newIdempotencyKey());

  useEffect(() => {
    let gone = false;
    loadStripe(config.stripe_js_url!, config.stripe_publishable_key!).then((client) => {
      if (gone || !mount.current) return;
      const card = client.elements().create("card");
      card.mount(mount.current);
      stripe.current = { client, card };
    }).catch((e) => notify(e.message, { type: "error" }));
    return () => { gone = true; };
  }, [config.stripe_js_url, config.stripe_publishable_key]); // eslint-disable-line react-hooks/exhaustive-deps

  const pay = async () => {
    setError(null);
    const minor = parseRoubles(amount);
    if (minor === null || minor <= 0) {
      setError(translate("vitrina.money.invalid"));
      return;
    }
    setBusy(true);
    try {
      const { json } = await apiFetch<{ id: number; client_secret: string }>("/topups", {
        method: "POST", body: { amount_minor: minor }, headers: { "Idempotency-Key": key.current } });
      if (stripe.current) {
        const paid = await stripe.current.client.confirmCardPayment(json.client_secret,
          { payment_method: { card: stripe.current.card } });
        if (paid?.error) throw new Error(paid.error.message);
      }
      setStarted(json.id);
      key.current = newIdempotencyKey();
    } catch (e: any) {
      if (e.body?.errors?.amount_minor) setError(e.body.errors.amount_minor);
      else notify(e.message, { type: "error" });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box sx={{ mb: 2 }} data-testid="card-topup">
      <Typography variant="subtitle1">{translate("vitrina.balance.card")}</Typography>
      <Box ref={mount} sx={{ maxWidth: 420, my: 1 }} data-testid="card-element" />
      <Box sx={{ display: "flex", gap: 1, alignItems: "flex-start" }}>
        <TextField size="small" label={translate("vitrina.balance.card_amount")} value={amount}
                   error={!!error} helperText={error ?? undefined} inputProps={{ inputMode: "decimal" }}
                   onChange={(e) => setAmount(e.target.value)} />
        <Button variant="contained" disabled={busy} onClick={pay}>{translate("vitrina.balance.card_pay")}</Button>
      </Box>
      {started !== null && (
        <Alert severity="info" sx={{ mt: 1 }}>{translate("vitrina.balance.card_started", { id: started })}</Alert>
      )}
    </Box>
  );
};

export const TopUpPanel = () => {
  const translate = useTranslate();
  const { identity } = useGetIdentity();
  const config = useQuery({
    queryKey: ["billing-config"],
    queryFn: async () => (await apiFetch<PaymentConfig>("/billing/config")).json,
    staleTime: Infinity,
  });
  const card = config.data?.card_top_ups === true;
  const organisation = identity?.organisation;
  return (
    <Box data-testid="topup">
      {card && <CardPayment config={config.data!} />}
      {config.data && !card && <Alert severity="info" sx={{ mb: 1 }}>{translate("vitrina.balance.card_off")}</Alert>}
      <Typography variant="subtitle1">{translate("vitrina.balance.bank")}</Typography>
      <Typography variant="body2" data-testid="bank-instructions">
        {translate("vitrina.balance.bank_instructions", { id: organisation?.id ?? "", name: organisation?.name ?? "" })}
      </Typography>
    </Box>
  );
};
