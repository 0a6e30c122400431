// The one HTTP client of the cabinet: the API's base path, the login token, and the API's
// error shape ({"message", "code", "errors": {field: problem}}) turned into react-admin's
// HttpError so that field problems show next to the fields and the message in a toast.
import { HttpError } from "react-admin";

export const API = "/api/v1";
const TOKEN_KEY = "vitrina.token";
const ME_KEY = "vitrina.me";

export type Role = "supplier_manager" | "retail_marketer" | "finance_officer" | "admin";

export interface Me {
  id: number;
  email: string;
  full_name: string;
  role: Role;
  organisation_id: number;
  organisation: { id: number; name: string; kind: "retailer" | "supplier"; supplier_id: string | null };
}

export const session = {
  token: (): string | null => localStorage.getItem(TOKEN_KEY),
  me: (): Me | null => {
    const text = localStorage.getItem(ME_KEY);
    return text ? (JSON.parse(text) as Me) : null;
  },
  save(token: string, me: Me) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(ME_KEY, JSON.stringify(me));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(ME_KEY);
  },
};

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  json: T;
}

interface ApiErrorBody {
  message?: string;
  code?: string;
  errors?: Record<string, string>;
}

/** The API's error as react-admin understands it: `body.errors` feeds the form fields,
 *  `errors.root.serverError` the form's notification. */
export function toHttpError(status: number, body: ApiErrorBody | null, fallback: string): HttpError {
  const message = body?.message || fallback;
  const fieldErrors = body?.errors && Object.keys(body.errors).length > 0 ? body.errors : null;
  const errors = fieldErrors ? { ...fieldErrors, root: { serverError: message } } : undefined;
  return new HttpError(message, status, { ...body, message, errors });
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  form?: URLSearchParams;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  raw?: boolean;
}

/** A call to the API with the login token; JSON in and out unless `raw` (a Blob out). */
export async function apiFetch<T = any>(path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers = new Headers({ Accept: "application/json", ...options.headers });
  const token = session.token();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (options.form) {
    body = options.form;
  } else if (options.body !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.body);
  }
  const url = path.startsWith("/api") ? path : `${API}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { method: options.method ?? "GET", headers, body, signal: options.signal });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new HttpError("vitrina.errors.network", 0, {});
  }
  if (!response.ok) {
    let parsed: ApiErrorBody | null = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    throw toHttpError(response.status, parsed, response.statusText || `HTTP ${response.status}`);
  }
  if (options.raw) {
    return { status: response.status, headers: response.headers, json: (await response.blob()) as T };
  }
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: (text ? JSON.parse(text) : null) as T };
}

/** A key for one intended money movement; a retry of the same submission reuses it.
 *  crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
