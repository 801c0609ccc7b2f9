// JSON over /api/. Errors arrive as {"error": {"code", "message"}}; they are
// thrown as Error(message) so callers can show the server's own words.

export async function api(path, { method = "GET", body } = {}) {
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
  if (!response.ok) {
    const message = data?.error?.message || `request failed (${response.status})`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return data;
}

export const enc = encodeURIComponent;
