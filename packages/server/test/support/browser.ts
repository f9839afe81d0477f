import { randomBytes } from "node:crypto";

/** What a page answered, with its body read once. */
export interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
  /** The `Location` header, resolved against the request URL; `undefined` when absent. */
  readonly location?: string;
}

/**
 * A minimal browser for the server's HTML forms: it keeps cookies (as a browser on localhost
 * would, `Secure` included), never follows redirects, and finds each form's CSRF token.
 */
export class Browser {
  /** Cookie name → value, as the server last set them. */
  readonly cookies = new Map<string, string>();
  /** Every `Set-Cookie` header received, for attribute checks. */
  readonly setCookieHeaders: string[] = [];

  constructor(readonly baseUrl: string) {}

  async get(path: string): Promise<Page> {
    return this.request("GET", path);
  }

  /** POSTs a urlencoded form; `fields` values may repeat by passing an array. */
  async post(path: string, fields: Record<string, string | string[]>): Promise<Page> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
    }
    return this.request("POST", path, body.toString(), {
      "content-type": "application/x-www-form-urlencoded",
    });
  }

  /** GETs a page, then POSTs `fields` plus the page's own `csrf_token` to `action`. */
  async submit(
    pagePath: string,
    action: string,
    fields: Record<string, string | string[]>,
  ): Promise<Page> {
    const page = await this.get(pagePath);
    return this.post(action, { csrf_token: csrfTokenOf(page.html), ...fields });
  }

  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Page> {
    const url = new URL(path, this.baseUrl);
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const response = await fetch(url, {
      method,
      body,
      redirect: "manual",
      headers: { ...(cookie ? { cookie } : {}), ...headers },
    });
    for (const header of response.headers.getSetCookie()) {
      this.setCookieHeaders.push(header);
      const [pair = ""] = header.split(";");
      const eq = pair.indexOf("=");
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get("location");
    return {
      status: response.status,
      headers: response.headers,
      html: await response.text(),
      location: location === null ? undefined : new URL(location, url).href,
    };
  }

  /**
   * Signs up a brand-new account, then signs in with it (sign-up itself never signs in, so that
   * it cannot tell a taken email from a new one); returns its email and password.
   */
  async signUp(
    email = `user-${randomBytes(6).toString("hex")}@example.test`,
    password = "correct horse battery staple",
  ): Promise<{ email: string; password: string }> {
    const page = await this.submit("/signup", "/signup", { email, password });
    if (page.status !== 303) throw new Error(`sign-up answered ${page.status}: ${page.html}`);
    const signedIn = await this.signIn(email, password);
    if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}`);
    return { email, password };
  }

  async signIn(email: string, password: string): Promise<Page> {
    return this.submit("/signin", "/signin", { email, password });
  }
}

/** The value of the first `csrf_token` hidden input on a page. */
export function csrfTokenOf(html: string): string {
  const match = /name="csrf_token" value="([^"]*)"/.exec(html);
  if (!match?.[1]) throw new Error(`no csrf_token on the page:\n${html}`);
  return match[1];
}

/** Every hidden input of the page's first `/auth` form, as the browser would submit them. */
function hiddenFieldsOf(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1] as string] = decodeHtml(match[2] as string);
  }
  return fields;
}

/** The value of a named visible input (e.g. `key_label`, `limit`). */
export function inputValueOf(html: string, name: string): string | undefined {
  const tag = new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(html)?.[0];
  const value = tag && /value="([^"]*)"/.exec(tag)?.[1];
  return value === undefined ? undefined : decodeHtml(value);
}

function decodeHtml(text: string): string {
  return text
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

/** The wire parameters of `GET /auth`. */
export interface AuthParams {
  callback_url?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  key_label?: string;
  limit?: string;
  usage_limit_type?: string;
  expires_at?: string;
  state?: string;
}

export function authPath(params: AuthParams): string {
  const query = new URLSearchParams(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return `/auth?${query}`;
}

/**
 * A signed-in browser approves an `/auth` request the way a user would: GET the consent page,
 * submit its form (hidden fields, label and limit as shown) with Authorize.
 * Returns the code from the 303's `Location` (or, headless, from the page).
 */
export async function approve(browser: Browser, params: AuthParams): Promise<string> {
  const consent = await browser.get(authPath(params));
  if (consent.status !== 200) {
    throw new Error(`consent page answered ${consent.status}: ${consent.html}`);
  }
  const answer = await browser.post("/auth", consentForm(consent.html, "approve"));
  if (params.callback_url === undefined) {
    // Headless: 303 after the POST like every form, to a page that shows the code.
    if (answer.status !== 303 || answer.location === undefined) {
      throw new Error(`headless approve answered ${answer.status}: ${answer.html}`);
    }
    const page = await browser.get(new URL(answer.location, browser.baseUrl).pathname);
    const code = /data-testid="code">([^<]+)</.exec(page.html)?.[1]?.trim();
    if (page.status !== 200 || !code) throw new Error(`headless page: ${page.html}`);
    return code;
  }
  if (answer.status !== 303 || !answer.location) {
    throw new Error(`approve answered ${answer.status}: ${answer.html}`);
  }
  const code = new URL(answer.location).searchParams.get("code");
  if (!code) throw new Error(`no code in ${answer.location}`);
  return code;
}

/** The consent form's fields as the browser would submit them with the given button. */
export function consentForm(html: string, decision: "approve" | "deny"): Record<string, string> {
  const fields = hiddenFieldsOf(html);
  const label = inputValueOf(html, "key_label");
  const limit = inputValueOf(html, "limit");
  return {
    ...fields,
    ...(label === undefined ? {} : { key_label: label }),
    limit: limit ?? "",
    decision,
  };
}
