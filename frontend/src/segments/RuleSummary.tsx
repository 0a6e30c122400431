// A saved rule in words, in the cabinet's language, from the field catalogue.
import { Box, Typography } from "@mui/material";
import { useLocaleState, useRecordContext, useTranslate } from "react-admin";

import { formatMoney } from "../money";
import { useCatalogue } from "./useCatalogue";

export const RuleSummary = () => {
  const record = useRecordContext();
  const catalogue = useCatalogue();
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const lang = locale === "en" ? "en" : "ru";
  if (!record?.rule || !catalogue.data) return null;
  const byName = catalogue.data.byName;

  const value = (fieldName: string, v: unknown): string => {
    const field = byName[fieldName];
    const one = (x: unknown) => {
      if (typeof x === "boolean") return translate(x ? "vitrina.segments.yes" : "vitrina.segments.no");
      if (field?.type === "money" && typeof x === "number") return formatMoney(x, "RUB", locale);
      return field?.values?.find((o) => String(o.value) === String(x))?.label ?? String(x);
    };
    return Array.isArray(v) ? v.map(one).join(field?.type === "money" || field?.type === "number" ? " – " : ", ") : one(v);
  };

  const render = (node: any, depth: number): JSX.Element => {
    if (node.not) {
      return <Box sx={{ pl: depth ? 2 : 0 }}><b>{translate("vitrina.segments.not")}</b> {render(node.not, depth + 1)}</Box>;
    }
    for (const op of ["all", "any"]) {
      if (Array.isArray(node[op])) {
        return (
          <Box sx={{ pl: depth ? 2 : 0 }}>
            <Typography variant="body2" component="span"><i>{translate(`vitrina.segments.${op}`)}:</i></Typography>
            {node[op].map((child: any, i: number) => <Box key={i} sx={{ pl: 2 }}>{render(child, depth + 1)}</Box>)}
          </Box>
        );
      }
    }
    const label = byName[node.field]?.label[lang] ?? node.field;
    return <span>{label} {translate(`vitrina.segments.ops.${node.op}`)} {value(node.field, node.value)}</span>;
  };
  return <Box data-testid="rule-summary">{render(record.rule, 0)}</Box>;
};
