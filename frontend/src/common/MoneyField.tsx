// Integer kopecks shown as roubles with kopecks in the cabinet's language.
import { Typography } from "@mui/material";
import { type FieldProps, useFieldValue, useLocaleState, useRecordContext } from "react-admin";

import { formatMoney } from "../money";

export const MoneyField = (props: FieldProps & { currencySource?: string }) => {
  const record = useRecordContext();
  const value = useFieldValue(props);
  const [locale] = useLocaleState();
  const currency = (props.currencySource && record?.[props.currencySource]) || record?.currency || "RUB";
  return (
    <Typography component="span" variant="body2" sx={{ whiteSpace: "nowrap", fontVariantNumeric: "tabular-nums" }}>
      {formatMoney(value, currency, locale)}
    </Typography>
  );
};

export const Money = ({ minor, currency = "RUB" }: { minor: number | null | undefined; currency?: string }) => {
  const [locale] = useLocaleState();
  return <span style={{ whiteSpace: "nowrap" }}>{formatMoney(minor, currency, locale)}</span>;
};
