// The dashboard's REST calls: the bearer token on every request, errors as HttpError with the service's
// `{"error": {"code", "message"}}` text, and the job's events read from the server-sent event stream or polled.
// `session` holds the token and the workspace's REST prefix; `session.onUnauthorized` runs on a 401.
"use strict";

export const session = { token: null, prefix: null, onUnauthorized: () => {} };

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  // An absolute link (a list's nextLink) is followed on this origin: only its path and query are used, so the
  // token never goes anywhere else whatever a link says.
  const absolute = /^https?:\/\//.test(path) ? new URL(path) : null;
  const url = absolute ? absolute.pathname + absolute.search : path.startsWith("/") ? path : `${session.prefix}/${path}`;
  const resp = await fetch(url, { ...options, headers: { Authorization: `Bearer ${session.token}`, ...(options.headers || {}) } });
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.error) message = `${body.error.code}: ${body.error.message}`;
    } catch (_) { /* not JSON */ }
    if (resp.status === 401) session.onUnauthorized();
    throw new HttpError(resp.status, message);
  }
  return resp;
}

export async function apiJson(path) {
  return (await api(path)).json();
}

// Every event of the job after `after`, in pages; returns the last sequence number seen. `live()` false: stop.
export async function pollEvents(jobId, after, live, onEvent) {
  for (;;) {
    const body = await apiJson(`jobs/${encodeURIComponent(jobId)}/events?after=${after}`);
    if (!live()) return after;
    for (const event of body.value) {
      after = Math.max(after, event.seq);
      onEvent(event);
    }
    if (body.value.length < 1000) return after;
  }
}

// Server-sent events read with fetch() (EventSource cannot send the Authorization header), until the stream ends,
// `live()` turns false or `controller` aborts. Returns the last sequence number; throws HttpError when the server
// has no usable stream.
export async function streamEvents(jobId, after, live, onEvent, controller) {
  const resp = await fetch(`${session.prefix}/jobs/${encodeURIComponent(jobId)}/stream?after=${after}`, {
    headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
    signal: controller.signal,
  });
  const type = resp.headers.get("Content-Type") || "";
  if (!resp.ok || !type.startsWith("text/event-stream") || !resp.body) {
    controller.abort();
    if (resp.status === 401) session.onUnauthorized();
    throw new HttpError(resp.status, `no event stream (${resp.status})`);
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || !live()) break;
      buffer = (buffer + value).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).replace(/^ /, ""));
        if (!data.length) continue; // a keep-alive comment
        const event = JSON.parse(data.join("\n"));
        after = Math.max(after, event.seq || 0);
        onEvent(event);
      }
    }
  } finally {
    controller.abort();
  }
  return after;
}
