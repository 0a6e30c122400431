// One auth provider: the OAuth2 password login (a JWT), the caller from /me, and the role
// deciding what the cabinet shows.
import type { AuthProvider } from "react-admin";

import { apiFetch, type Me, session } from "./api";
import { canAccess } from "./roles";

export const authProvider: AuthProvider = {
  async login({ username, password }: { username: string; password: string }) {
    const form = new URLSearchParams({ username, password });
    const { json } = await apiFetch<{ access_token: string }>("/auth/token", { method: "POST", form })
      .catch((error) => {
        // react-admin shows this message on the login form.
        throw new Error(error.status === 401 ? "vitrina.auth.wrong_password" : error.message);
      });
    session.save(json.access_token, {} as Me);
    const me = await apiFetch<Me>("/me");
    session.save(json.access_token, me.json);
  },
  async logout() {
    session.clear();
  },
  async checkAuth() {
    if (!session.token() || !session.me()?.role) throw new Error("vitrina.auth.log_in");
  },
  async checkError(error: { status?: number }) {
    if (error?.status === 401) {
      session.clear();
      throw new Error("vitrina.auth.session_expired");
    }
    // 403 and the rest: stay logged in, the screen shows the message.
  },
  async getIdentity() {
    const me = session.me();
    if (!me) throw new Error("vitrina.auth.log_in");
    return { id: me.id, fullName: me.full_name || me.email, email: me.email, role: me.role,
             organisation: me.organisation };
  },
  async getPermissions() {
    return session.me()?.role;
  },
  async canAccess({ resource, action }) {
    return canAccess(session.me()?.role, resource, action);
  },
};
