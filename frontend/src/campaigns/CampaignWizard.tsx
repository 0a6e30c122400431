// The campaign wizard, step by step: segment -> products (own SKUs, searchable) -> terms ->
// the forecast -> save or submit. Every input keeps the API's field name, so a server
// complaint shows next to its field, and the wizard opens the step that holds it.
import { Alert, Box, Button, Step, StepButton, Stepper, Typography } from "@mui/material";
import { useEffect, useMemo, useState } from "react";
import {
  AutocompleteArrayInput,
  AutocompleteInput,
  DateInput,
  Form,
  FormDataConsumer,
  NumberInput,
  RadioButtonGroupInput,
  ReferenceArrayInput,
  ReferenceInput,
  SaveButton,
  TextInput,
  required,
  useNotify,
  useRedirect,
  useTranslate,
} from "react-admin";
import { useFormContext, useFormState, useWatch } from "react-hook-form";

import { apiFetch } from "../api";
import { MoneyInput } from "../common/MoneyInput";
import { PercentInput } from "../common/PercentInput";
import { parseRoubles } from "../money";
import { ForecastPanel } from "./ForecastPanel";
import { toForecastRequest } from "./transform";

const STEPS = ["segment", "products", "terms", "forecast", "submit"] as const;
const STEP_FIELDS: string[][] = [
  ["name", "segment_id", "segment_version"],
  ["skus"],
  ["starts_at", "ends_at", "store_ids", "regions", "depth_mode", "discount_bp", "min_discount_bp",
    "max_discount_bp", "goal", "limit_units_per_week", "holdout_bp", "budget_minor", "currency"],
  [],
  [],
];

const wide = { width: 480 };

const productText = (record: any) => (record ? `${record.sku} · ${record.name}` : "");

const SegmentStep = () => (
  <Box>
    <TextInput source="name" validate={required()} sx={wide} />
    <ReferenceInput source="segment_id" reference="segments" filter={{ status: "active" }}
                    sort={{ field: "updated_at", order: "DESC" }}>
      <AutocompleteInput optionText="name" validate={required()} sx={wide}
                         filterToQuery={(q: string) => ({ q })} />
    </ReferenceInput>
  </Box>
);

const ProductsStep = () => {
  const translate = useTranslate();
  return (
    <Box>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        {translate("vitrina.campaigns.products_help")}
      </Typography>
      <ReferenceArrayInput source="skus" reference="products" sort={{ field: "name", order: "ASC" }} perPage={25}>
        <AutocompleteArrayInput optionText={productText} validate={required()} sx={wide}
                                noOptionsText={translate("vitrina.campaigns.no_products")}
                                filterToQuery={(q: string) => ({ q })} />
      </ReferenceArrayInput>
    </Box>
  );
};

/** The regions the retailer has stores in, searched on the server (GET /regions): a chain
 * with thousands of stores has a few dozen regions. */
const RegionInput = () => {
  const translate = useTranslate();
  return (
    <ReferenceArrayInput source="regions" reference="regions" sort={{ field: "name", order: "ASC" }} perPage={50}>
      <AutocompleteArrayInput sx={wide} filterToQuery={(q: string) => ({ q })}
                              optionText={(r: any) => (r ? translate("vitrina.campaigns.region_option",
                                { name: r.name, count: r.store_count }) : "")} />
    </ReferenceArrayInput>
  );
};

const TermsStep = () => {
  const translate = useTranslate();
  return (
    <Box>
      <Box sx={{ display: "flex", gap: 2 }}>
        <DateInput source="starts_at" validate={required()} />
        <DateInput source="ends_at" validate={required()} />
      </Box>
      <Typography variant="body2" color="text.secondary">{translate("vitrina.campaigns.where_help")}</Typography>
      <RegionInput />
      <ReferenceArrayInput source="store_ids" reference="stores" perPage={50}>
        <AutocompleteArrayInput optionText={(s: any) => (s ? `${s.store_id} · ${s.name}` : "")} sx={wide}
                                filterToQuery={(q: string) => ({ q })} />
      </ReferenceArrayInput>
      <RadioButtonGroupInput source="depth_mode" validate={required()} choices={[
        { id: "fixed", name: "resources.campaigns.depth_mode.fixed" },
        { id: "ai", name: "resources.campaigns.depth_mode.ai" },
      ]} />
      <FormDataConsumer>
        {({ formData }) => formData.depth_mode === "ai" ? (
          <Box>
            <Box sx={{ display: "flex", gap: 2 }}>
              <PercentInput source="min_discount_bp" validate={required()} />
              <PercentInput source="max_discount_bp" validate={required()} />
            </Box>
            <RadioButtonGroupInput source="goal" choices={[
              { id: "units", name: "resources.campaigns.goal.units" },
              { id: "revenue", name: "resources.campaigns.goal.revenue" },
            ]} />
          </Box>
        ) : <PercentInput source="discount_bp" validate={required()} />}
      </FormDataConsumer>
      <Box sx={{ display: "flex", gap: 2 }}>
        <NumberInput source="limit_units_per_week" min={1} max={1000}
                     helperText="vitrina.campaigns.limit_help" />
        <PercentInput source="holdout_bp" helperText="vitrina.campaigns.holdout_help" />
      </Box>
      <MoneyInput source="budget_minor" validate={required()} />
    </Box>
  );
};

const ForecastStep = () => {
  const values = useWatch();
  const request = useMemo(() => toForecastRequest(values), [JSON.stringify(values)]); // eslint-disable-line
  return <ForecastPanel request={request} budgetMinor={parseRoubles(values.budget_minor ?? null)} />;
};

const SubmitStep = () => {
  const translate = useTranslate();
  return <Alert severity="info">{translate("vitrina.campaigns.submit_help")}</Alert>;
};

/** "Submit for approval": save, then POST /campaigns/{id}/submit, then the campaign. */
const SubmitButton = () => {
  const notify = useNotify();
  const redirect = useRedirect();
  return (
    <SaveButton
      type="button"
      label="vitrina.campaigns.save_submit"
      data-testid="wizard-submit"
      mutationOptions={{
        onSuccess: async (data: any) => {
          try {
            // A revised approved campaign is already back for approval (the API moves it).
            if (data.status === "draft" || data.status === "rejected") {
              await apiFetch(`/campaigns/${data.id}/submit`, { method: "POST" });
            }
            notify("vitrina.campaigns.submitted", { type: "success" });
          } catch (error) {
            notify((error as Error).message, { type: "error" });
          }
          redirect("show", "campaigns", data.id);
        },
      }}
    />
  );
};

const WizardBody = () => {
  const translate = useTranslate();
  const [step, setStep] = useState(0);
  const { trigger } = useFormContext();
  const { errors } = useFormState();

  // A complaint (the browser's or the server's) about a field opens the step that holds it.
  useEffect(() => {
    const names = Object.keys(errors).filter((name) => name !== "root");
    if (!names.length) return;
    const first = STEP_FIELDS.findIndex((fields) => fields.some((field) => names.includes(field)));
    if (first >= 0 && first < step) setStep(first);
  }, [errors]); // eslint-disable-line react-hooks/exhaustive-deps

  const next = async () => {
    if (await trigger(STEP_FIELDS[step])) setStep(step + 1);
  };
  const rootError = (errors.root as any)?.serverError?.message ?? (errors.root as any)?.serverError;

  return (
    <Box sx={{ p: 2 }}>
      <Stepper activeStep={step} nonLinear sx={{ mb: 3 }}>
        {STEPS.map((name, index) => (
          <Step key={name} completed={index < step}>
            <StepButton onClick={() => index < step && setStep(index)}>
              {translate(`vitrina.campaigns.steps.${name}`)}
            </StepButton>
          </Step>
        ))}
      </Stepper>
      <Box data-testid={`wizard-step-${STEPS[step]}`}>
        {step === 0 && <SegmentStep />}
        {step === 1 && <ProductsStep />}
        {step === 2 && <TermsStep />}
        {step === 3 && <ForecastStep />}
        {step === 4 && <SubmitStep />}
      </Box>
      {typeof rootError === "string" && step === 4 && <Alert severity="error" sx={{ mt: 2 }}>{rootError}</Alert>}
      <Box sx={{ display: "flex", gap: 2, mt: 3 }}>
        <Button variant="outlined" disabled={step === 0} onClick={() => setStep(step - 1)}>
          {translate("vitrina.campaigns.back")}
        </Button>
        {step < STEPS.length - 1 ? (
          <Button variant="contained" onClick={next}>{translate("vitrina.campaigns.next")}</Button>
        ) : (
          <>
            <SaveButton label="vitrina.campaigns.save_draft" variant="outlined" data-testid="wizard-save" />
            <SubmitButton />
          </>
        )}
      </Box>
    </Box>
  );
};

export const CAMPAIGN_DEFAULTS = { depth_mode: "fixed", goal: "units", holdout_bp: "10" };

export const CampaignWizard = ({ defaultValues }: { defaultValues?: Record<string, any> }) => (
  <Form defaultValues={defaultValues} mode="onSubmit">
    <WizardBody />
  </Form>
);
