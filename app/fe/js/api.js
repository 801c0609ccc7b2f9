// @ts-check
// JSON over /api/. Errors arrive as {"error": {"code", "message"}}; they are
// thrown as Error(message) so callers can show the server's own words. A 401
// (the sign-in is gone) sends the page to /signed-out.html instead.

/** An error the server answered with; `status` is its HTTP status. */
class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {string} path
 * @param {{method?: string, body?: unknown}} [options]
 */

export async function api(path, { method = "GET", body } = {}) {
  /** @type {RequestInit & {headers: Record<string, string>}} */
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch {
    throw new Error("the server cannot be reached");
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    // The sign-in ended (signed out elsewhere, expired, its token revoked): nothing
    // of this page works any more, so leave for the page that says how to sign in.
    // The caller never hears back; the drafts are already kept.
    location.replace("/signed-out.html");
    return new Promise(() => {});
  }
  if (!response.ok) {
    const message = data?.error?.message || `request failed (${response.status})`;
    throw new ApiError(message, response.status);
  }
  return data;
}

export const enc = encodeURIComponent;
