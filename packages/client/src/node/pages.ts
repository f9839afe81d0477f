import type { ServerResponse } from "node:http";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Answers the browser with a small self-contained page; `done` runs once it is flushed. */
export function sendPage(
  res: ServerResponse,
  status: number,
  title: string,
  detail: string,
  done?: () => void,
): void {
  const html = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}</style><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>`;
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    // The address bar holds the code: keep it out of Referer headers, caches and frames.
    "content-security-policy":
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    connection: "close",
  });
  res.end(html, done);
}

/** Answers a request that is not the callback. */
export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", connection: "close" });
  res.end(text);
}
