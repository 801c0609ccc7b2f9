// @ts-check
// Who this page is, asked once before it starts: a person signed in by their own
// token (its name, its role), or the admin's key (any name, typed in the field).
// A person's page posts and reads only as that person; the server holds it to
// that whatever the page sends.

import { api } from "./api.js";

/** @typedef {{name: string | null, role: string, projects: string[] | null, can_post: boolean, session: boolean}} SignedIn */

/** @type {SignedIn} the page before sign-in, or an older server: as it always was */
const ANYONE = { name: null, role: "admin", projects: null, can_post: true, session: false };

/** @returns {Promise<SignedIn | null>} null: this server needs a sign-in the browser has not got */
async function ask() {
  try {
    const response = await fetch("/api/session", { headers: { accept: "application/json" } });
    if (response.ok) return await response.json();
    if (response.status === 401) return null;
  } catch {
    // Offline: the page starts as it always did and says so.
  }
  return ANYONE;
}

const asked = await ask();
// Never signed in, signed out, or the token revoked: nothing here would work,
// so say how to sign in instead of a page where every request is refused.
if (asked === null) location.replace("/signed-out.html");

/** @type {SignedIn} */
export const signedIn = asked || ANYONE;

/** End this browser's session, then leave the page (nothing of it works signed out). */
export async function signOut() {
  try {
    await fetch("/api/signout", { method: "POST", headers: { accept: "application/json" } });
  } catch {
    // The cookie may still be there; the server refuses it once the token goes.
  }
  location.replace("/signed-out.html");
}

/** Resolves unless the sign-in is gone: then api() sends the page to the sign-in
 * page, instead of a feed retrying (and counting as failed sign-ins) for nothing. */
export async function stillSignedIn() {
  try {
    await api("/session");
  } catch {
    // Offline, or refused for another reason: the caller retries as before.
  }
}
