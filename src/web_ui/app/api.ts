/**
 * @module web_ui/api
 * Every call the UI makes to the dashboard: same-origin, with the login cookie. Paths come from
 * API_ROUTES (dashboard/api_types.ts), so a renamed route breaks the type check, not the page.
 *
 * A 401 from any call flips the shared auth state to "login needed" (the app then shows the login
 * page); network failures and other statuses become an `ApiError` with the server's message.
 */
import type { ApiError as ApiErrorBody, ListResult, RouteName, StateFilter } from "../../dashboard/api_types.ts";
import { matchingCount, routeMethod, routePath, summaryPayload, unwrap, url, withQuery, type Query } from "./lib/paths.ts";
import { setAuth, setConnection } from "./store.ts";

export { matchingCount, routeMethod, routePath, unwrap, url, withQuery, type Query };

export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
  /** The route exists in the contract but this server does not serve it (yet). */
  get notServed(): boolean { return this.status === 404 || this.status === 405 || this.status === 501; }
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text) as Partial<ApiErrorBody> & { msg?: string };
    if (typeof j.error === "string") return j.error;
    if (typeof j.msg === "string") return j.msg;
  } catch { /* not JSON */ }
  return text.trim().slice(0, 300) || `${res.status} ${res.statusText}`;
}

/** fetch with the UI's conventions: same-origin credentials, 401 → login, errors → ApiError. */
export async function request(method: string, path: string, init: { body?: unknown; signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      signal: init.signal,
      headers: {
        accept: init.accept ?? "application/json",
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
  } catch (e) {
    if (init.signal?.aborted) throw e;
    setConnection(false, "the dashboard server cannot be reached");
    throw new ApiError(0, "the dashboard server cannot be reached; is the cluster running?");
  }
  if (res.status === 401) {
    setConnection(true);
    const msg = await errorMessage(res);
    setAuth("needed", msg);
    throw new ApiError(401, msg);
  }
  setConnection(true, "", true);
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  return res;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await request("GET", path, { signal });
  return (await res.json()) as T;
}

export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  const res = await request("GET", path, { signal, accept: "text/plain" });
  return res.text();
}

export async function call<T>(name: RouteName, params: Record<string, string> = {}, body?: unknown): Promise<T | undefined> {
  const res = await request(routeMethod(name), routePath(name, params), { body });
  if (res.status === 204) return undefined;
  const text = await res.text();
  return text ? (JSON.parse(text) as T) : undefined;
}

export interface ListOptions { limit?: number; detail?: boolean; filters?: StateFilter[]; extra?: Query }

/** A state API list route, unwrapped from Ray's envelope. */
export async function listState<T>(name: RouteName, o: ListOptions, signal?: AbortSignal): Promise<ListResult<T>> {
  return unwrap<ListResult<T>>(await getJson<unknown>(url(name, {}, { limit: o.limit ?? 100, detail: o.detail, ...o.extra }, o.filters), signal));
}

/** A state route whose payload may come in Ray's envelope (e.g. the log listing). */
export async function getState<T>(path: string, signal?: AbortSignal): Promise<T> {
  return unwrap<T>(await getJson<unknown>(path, signal));
}

/** A state API summary route, unwrapped to the cluster-wide summary. */
export async function summary<T>(name: RouteName, filters: StateFilter[] = [], signal?: AbortSignal): Promise<T> {
  return summaryPayload<T>(await getJson<unknown>(url(name, {}, {}, filters), signal));
}

export async function login(token: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(routePath("login"), {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch {
    throw new ApiError(0, "the dashboard server cannot be reached; is the cluster running?");
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  setAuth("ok");
}

export async function logout(): Promise<void> {
  try {
    await fetch(routePath("logout"), { method: "POST", credentials: "same-origin" });
  } finally {
    setAuth("needed", "");
  }
}
