// The live count: POST /segments/estimate for the rule being edited, a moment after the
// last change (debounced), the answer to an older rule never overwriting a newer one.
import { useEffect, useState } from "react";

import { apiFetch } from "../api";

export interface ShownCount {
  count: number | null;
  label: string;
  exact: boolean;
  below_minimum: boolean;
}

export interface Estimate {
  count: ShownCount;
  base: ShownCount;
  share_of_base: number | null;
  breakdown: Record<string, { value: string | boolean | null; label: string; count: ShownCount }[]>;
  feature_build_id: number;
  as_of: string;
  min_audience_size: number;
}

export interface EstimateState {
  estimate: Estimate | null;
  error: { message: string; status?: number; body?: any } | null;
  loading: boolean;
}

export const ESTIMATE_DELAY_MS = 300;

export function useEstimate(rule: Record<string, unknown> | null): EstimateState {
  const [state, setState] = useState<EstimateState>({ estimate: null, error: null, loading: false });
  const ruleText = rule ? JSON.stringify(rule) : "";

  useEffect(() => {
    if (!ruleText) {
      setState({ estimate: null, error: null, loading: false });
      return;
    }
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    const timer = setTimeout(async () => {
      try {
        const { json } = await apiFetch<Estimate>("/segments/estimate", {
          method: "POST", body: { rule: JSON.parse(ruleText) }, signal: controller.signal });
        setState({ estimate: json, error: null, loading: false });
      } catch (error: any) {
        if (error?.name === "AbortError") return;
        setState({ estimate: null, error, loading: false });
      }
    }, ESTIMATE_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [ruleText]);

  return state;
}
