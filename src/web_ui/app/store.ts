/**
 * @module web_ui/store
 * App-wide state that any API call may change: whether a login is needed, and whether the
 * dashboard server answered the last request. A tiny external store read with
 * `useSyncExternalStore`, so a 401 deep in a page's poll switches the whole app to the login page.
 */
import { useSyncExternalStore } from "react";

export type AuthState = "unknown" | "ok" | "needed";

export interface AppState {
  auth: AuthState;
  /** The server's message with the last 401 ("missing auth token…", "wrong auth token…"). */
  authMessage: string;
  /** False while the server cannot be reached. */
  connected: boolean;
  connectionError: string;
}

let state: AppState = { auth: "unknown", authMessage: "", connected: true, connectionError: "" };
const listeners = new Set<() => void>();

function update(patch: Partial<AppState>): void {
  let changed = false;
  for (const k of Object.keys(patch) as (keyof AppState)[]) {
    if (state[k] !== patch[k]) { changed = true; break; }
  }
  if (!changed) return;
  state = { ...state, ...patch };
  for (const l of listeners) l();
}

export function setAuth(auth: AuthState, message = ""): void { update({ auth, authMessage: message }); }

/** The server answered (`authorized`: with something other than 401) or could not be reached. */
export function setConnection(ok: boolean, error = "", authorized = false): void {
  if (!ok) { update({ connected: false, connectionError: error }); return; }
  // Only the first answer decides "ok"; after a 401 only a login does (see api.login).
  update({ connected: true, connectionError: "", ...(authorized && state.auth === "unknown" ? { auth: "ok" as const } : {}) });
}

export function getState(): AppState { return state; }

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => { listeners.delete(l); };
}

export function useAppState(): AppState { return useSyncExternalStore(subscribe, getState); }
