// A guardrail: the global minimum margin, or a minimum price and/or maximum discount for
// a SKU or a category. Money and percentages are typed as people write them.
import { FormDataConsumer, SelectInput, SimpleForm, TextInput, required, useTranslate } from "react-admin";
import { Typography } from "@mui/material";

import { choicesOf } from "../common/EnumField";
import { MoneyInput } from "../common/MoneyInput";
import { PercentInput } from "../common/PercentInput";

export const GuardrailForm = ({ creating }: { creating: boolean }) => {
  const translate = useTranslate();
  return (
    <SimpleForm>
      <SelectInput source="scope" choices={choicesOf("guardrails", "scope", ["sku", "category", "global"])}
                   validate={required()} disabled={!creating} />
      <FormDataConsumer>
        {({ formData }) => formData.scope === "global" ? (
          <>
            <Typography variant="body2" color="text.secondary">{translate("resources.guardrails.helper.global")}</Typography>
            <PercentInput source="min_margin_bp" validate={required()} />
          </>
        ) : (
          <>
            <Typography variant="body2" color="text.secondary">{translate("resources.guardrails.helper.item")}</Typography>
            <TextInput source="target" validate={creating ? required() : undefined} disabled={!creating} />
            <MoneyInput source="min_price_minor" />
            <PercentInput source="max_discount_bp" />
          </>
        )}
      </FormDataConsumer>
    </SimpleForm>
  );
};
