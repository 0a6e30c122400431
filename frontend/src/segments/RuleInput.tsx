// The segment form's `rule` input: the builder beside the live estimate. The form holds the
// rule in the API's language; the builder's tree is its editing state.
import { Alert, Box, CircularProgress, Typography } from "@mui/material";
import { useEffect, useMemo, useState } from "react";
import { useInput, useTranslate } from "react-admin";

import { ErrorBox } from "../common/ErrorBox";
import { EstimatePanel } from "./EstimatePanel";
import { type GroupNode, parse, serialise } from "./rule";
import { RuleBuilder } from "./RuleBuilder";
import { useCatalogue } from "./useCatalogue";
import { useEstimate } from "./useEstimate";

const requireRule = (value: unknown) => (value ? undefined : "vitrina.segments.empty");

export const RuleInput = ({ source = "rule" }: { source?: string }) => {
  const translate = useTranslate();
  const { field, fieldState } = useInput({ source, validate: requireRule });
  const catalogue = useCatalogue();
  const [root, setRoot] = useState<GroupNode | null>(null);

  useEffect(() => {
    if (catalogue.data && root === null) setRoot(parse(field.value, catalogue.data.byName));
  }, [catalogue.data, root, field.value]);

  const serialised = useMemo(
    () => (root && catalogue.data ? serialise(root, catalogue.data.byName) : null),
    [root, catalogue.data],
  );
  const ruleText = serialised?.rule ? JSON.stringify(serialised.rule) : "";
  useEffect(() => {
    if (!serialised) return;
    if (ruleText !== (field.value ? JSON.stringify(field.value) : "")) field.onChange(serialised.rule);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ruleText]);

  const estimate = useEstimate(serialised?.rule ?? null);

  // The API names the offending node by its path ("all[1].not.any[0]"): show it there.
  const problems = useMemo(() => {
    const byKey: Record<string, string> = {};
    const errors: Record<string, string> = estimate.error?.body?.errors ?? {};
    const keyByPath = Object.fromEntries(Object.entries(serialised?.paths ?? {}).map(([k, p]) => [p, k]));
    for (const [name, reason] of Object.entries(errors)) {
      if (name === "root" || !name.startsWith("rule")) continue;
      const path = name === "rule" ? "" : name.slice("rule.".length);
      const key = keyByPath[path] ?? root?.key;
      if (key) byKey[key] = reason;
    }
    return { byKey, incomplete: serialised?.incomplete ?? new Set<string>() };
  }, [estimate.error, serialised, root]);

  if (catalogue.isPending) return <CircularProgress />;
  if (catalogue.error) return <ErrorBox error={catalogue.error} />;
  if (!root || !catalogue.data) return null;
  return (
    <Box sx={{ display: "flex", gap: 3, alignItems: "flex-start", width: "100%", flexWrap: { xs: "wrap", lg: "nowrap" } }}>
      <Box sx={{ flex: 1, minWidth: 0 }}>
        <Typography variant="subtitle1" gutterBottom>{translate("vitrina.segments.builder")}</Typography>
        <RuleBuilder root={root} catalogue={catalogue.data} problems={problems} onChange={setRoot} />
        {fieldState.error?.message && (
          <Alert severity="error">{translate(fieldState.error.message, { _: fieldState.error.message })}</Alert>
        )}
      </Box>
      <EstimatePanel state={estimate} empty={!serialised?.rule} />
    </Box>
  );
};
