// @ts-check
// Who this page is, asked once before it starts: a person signed in by their own
// token (its name, its role), or the admin's key (any name, typed in the field).
// A person's page posts and reads only as that person; the server holds it to
// that whatever the page sends.

/** @typedef {{name: string | null, role: string, projects: string[] | null, can_post: boolean, session: boolean}} SignedIn */

/** @type {SignedIn} the page before sign-in, or an older server: as it always was */
const ANYONE = { name: null, role: "admin", projects: null, can_post: true, session: false };

/** @returns {Promise<SignedIn>} */
async function ask() {
  try {
    const response = await fetch("/api/session", { headers: { accept: "application/json" } });
    if (response.ok) return await response.json();
  } catch {
    // Offline: the page starts as it always did and says so.
  }
  return ANYONE;
}

export const signedIn = await ask();

/** End this browser's session, then leave the page (nothing of it works signed out). */
export async function signOut() {
  try {
    await fetch("/api/signout", { method: "POST", headers: { accept: "application/json" } });
  } catch {
    // The cookie may still be there; the server refuses it once the token goes.
  }
  location.replace("/signed-out.html");
}
