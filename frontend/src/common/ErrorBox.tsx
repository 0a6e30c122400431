import { Alert } from "@mui/material";
import { useTranslate } from "react-admin";

/** A failed request's message, readable, never a blank screen. */
export const ErrorBox = ({ error }: { error: unknown }) => {
  const translate = useTranslate();
  if (!error) return null;
  const message = (error as { message?: string }).message ?? String(error);
  return <Alert severity="error">{translate(message, { _: message })}</Alert>;
};
