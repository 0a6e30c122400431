// One data provider, react-admin's REST conventions as the API implements them
// (marketplace_api/listing.py): `sort`, `range` (inclusive), `filter` as JSON strings, the
// total in `Content-Range`. Where the API's routes differ from plain REST it says so here.
import type { DataProvider, GetListParams, Identifier } from "react-admin";

import { apiFetch } from "./api";

/** Records whose key is not `id` get one, so react-admin can address them. */
const ID_OF: Partial<Record<string, (record: any) => Identifier>> = {
  products: (record) => record.sku,
};

function withId(resource: string, record: any): any {
  const idOf = ID_OF[resource];
  return idOf && record ? { ...record, id: idOf(record) } : record;
}

function totalOf(headers: Headers, fallback: number): number {
  const range = headers.get("Content-Range");
  const total = range ? Number(range.split("/").pop()) : NaN;
  return Number.isFinite(total) ? total : fallback;
}

function listQuery(params: GetListParams): string {
  const { page, perPage } = params.pagination ?? { page: 1, perPage: 25 };
  const query = new URLSearchParams();
  if (params.sort?.field) query.set("sort", JSON.stringify([params.sort.field, params.sort.order]));
  query.set("range", JSON.stringify([(page - 1) * perPage, page * perPage - 1]));
  const filter = Object.fromEntries(
    Object.entries(params.filter ?? {}).filter(([, value]) => value !== "" && value !== undefined),
  );
  if (Object.keys(filter).length) query.set("filter", JSON.stringify(filter));
  return query.toString();
}

/** The path of a resource's collection; the API groups a few under another path. */
const PATHS: Partial<Record<string, string>> = { antifraud: "/antifraud/flags" };

function collectionPath(resource: string): string {
  return PATHS[resource] ?? `/${resource}`;
}

async function getList(resource: string, params: GetListParams): Promise<{ data: any[]; total: number }> {
  const { json, headers } = await apiFetch<any[]>(`${collectionPath(resource)}?${listQuery(params)}`,
    { signal: params.signal });
  return { data: json.map((row) => withId(resource, row)), total: totalOf(headers, json.length) };
}

export const dataProvider: DataProvider = {
  supportAbortSignal: true,

  getList,

  async getOne(resource, params) {
    const { json } = await apiFetch(`${collectionPath(resource)}/${encodeURIComponent(params.id)}`,
      { signal: params.signal });
    return { data: withId(resource, json) };
  },

  async getMany(resource, params) {
    // Products are keyed by SKU, which the API filters as `id`.
    const key = "id";
    const { data } = await getList(resource, {
      filter: { [key]: params.ids }, pagination: { page: 1, perPage: Math.max(params.ids.length, 1) },
      signal: params.signal,
    });
    return { data };
  },

  getManyReference(resource, params) {
    return getList(resource, { ...params, filter: { ...params.filter, [params.target]: params.id } });
  },

  async create(resource, params) {
    let path = collectionPath(resource);
    let data = params.data;
    const headers: Record<string, string> = {};
    if (resource === "users") {
      // Users are created inside their organisation.
      const { organisation_id, ...rest } = data;
      path = `/organisations/${organisation_id}/users`;
      data = rest;
    }
    if (resource === "topups" && params.meta?.method === "bank_transfer") {
      path = "/topups/bank";
    }
    if (params.meta?.idempotencyKey) headers["Idempotency-Key"] = params.meta.idempotencyKey;
    const { json } = await apiFetch(path, { method: "POST", body: data, headers });
    return { data: withId(resource, json) };
  },

  async update(resource, params) {
    // Send only what changed: the API's updates are partial (PATCH) and refuse read-only
    // fields in some places.
    const changed = Object.fromEntries(
      Object.entries(params.data).filter(([key, value]) =>
        JSON.stringify(value) !== JSON.stringify((params.previousData as any)?.[key])),
    );
    const { json } = await apiFetch(`${collectionPath(resource)}/${encodeURIComponent(params.id)}`,
      { method: "PATCH", body: changed });
    return { data: withId(resource, json) };
  },

  async updateMany(resource, params) {
    await Promise.all(params.ids.map((id) =>
      apiFetch(`${collectionPath(resource)}/${encodeURIComponent(id)}`, { method: "PATCH", body: params.data })));
    return { data: params.ids };
  },

  async delete(resource, params) {
    const { json } = await apiFetch(`${collectionPath(resource)}/${encodeURIComponent(params.id)}`,
      { method: "DELETE" });
    return { data: withId(resource, json) };
  },

  async deleteMany(resource, params) {
    await Promise.all(params.ids.map((id) =>
      apiFetch(`${collectionPath(resource)}/${encodeURIComponent(id)}`, { method: "DELETE" })));
    return { data: params.ids };
  },
};
