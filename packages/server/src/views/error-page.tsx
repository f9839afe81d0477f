import { Layout, type Viewer } from "./layout.js";

/** What a page error says: what happened (its heading) and what to do about it. */
const GUIDANCE: Record<number, { heading: string; todo: string }> = {
  400: {
    heading: "This request cannot be used",
    todo: "Go back and try again. If an app sent you here, start again from the app; if it keeps happening, tell the app's developer.",
  },
  403: {
    heading: "Not allowed",
    todo: "If you think you should be allowed, ask the operator of this server.",
  },
  404: {
    heading: "Page not found",
    todo: "Check the address, or start again from the home page.",
  },
  405: { heading: "Not allowed here", todo: "Start again from the home page." },
  413: {
    heading: "Too much data",
    todo: "What was sent is larger than this server accepts. Send less and try again.",
  },
  429: {
    heading: "Too many attempts",
    todo: "Wait a little, then try again.",
  },
  500: {
    heading: "Something broke on our side",
    todo: "Try again in a moment. If it keeps happening, tell the operator of this server.",
  },
  503: {
    heading: "Temporarily unavailable",
    todo: "The server cannot reach its storage right now; nothing you did caused this. Try again in a few seconds.",
  },
};

interface ErrorPageProps {
  status: number;
  message: string;
  /**
   * Only where it is true: an authorization request refused before any code was issued (a bad
   * request, a refused callback, a denial). Never after an approval.
   */
  nothingShared?: boolean;
  /** Seconds to wait, from `Retry-After`. */
  retryAfter?: string;
  viewer?: Viewer;
}

/** Any error shown as a page: what happened, in the server's words, and what to do next. */
export function ErrorPage(props: ErrorPageProps) {
  const guidance = GUIDANCE[props.status] ?? {
    heading: "Something went wrong",
    todo: "Go back and try again, or start again from the home page.",
  };
  const wait =
    props.retryAfter && /^\d+$/.test(props.retryAfter)
      ? ` Try again in ${props.retryAfter} second${props.retryAfter === "1" ? "" : "s"}.`
      : "";
  return (
    <Layout title={guidance.heading} viewer={props.viewer}>
      <h1>{guidance.heading}</h1>
      <p class="error" role="alert">
        {props.message}
      </p>
      <p>
        {guidance.todo}
        {wait}
      </p>
      {props.nothingShared ? (
        <p class="muted" data-testid="nothing-shared">
          Nothing was shared with the app. You can close this page.
        </p>
      ) : null}
      <p>
        <a href="/">Home page</a>
      </p>
    </Layout>
  );
}
