// The field catalogue (GET /audience/fields), fetched once per session.
import { useQuery } from "@tanstack/react-query";

import { apiFetch } from "../api";
import type { CatalogueField } from "./rule";

export interface Catalogue {
  fields: CatalogueField[];
  byName: Record<string, CatalogueField>;
}

export function useCatalogue() {
  return useQuery({
    queryKey: ["audience", "fields"],
    staleTime: 5 * 60_000,
    queryFn: async ({ signal }): Promise<Catalogue> => {
      const { json } = await apiFetch<CatalogueField[]>("/audience/fields", { signal });
      return { fields: json, byName: Object.fromEntries(json.map((f) => [f.name, f])) };
    },
  });
}
