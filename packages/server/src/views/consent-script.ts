import { createHash } from "node:crypto";

/**
 * The consent page's only script. It shows the expiry in the reader's local time (the page says
 * it in UTC without script), and Authorize stays disabled until the page has been visible for
 * `data-delay` ms without a break. Hiding the page, showing it again (a tab
 * switch, a back/forward restore) or focusing its window starts the wait over, so a page opened
 * under the user's first click of a double-click, or kept in the background, cannot take the
 * second click. The server checks the same delay on its own (`shownLongEnough`).
 */
export const CONSENT_SCRIPT = `(() => {
  for (const time of document.querySelectorAll("time[data-local]")) {
    const when = new Date(time.dateTime);
    if (!Number.isNaN(when.getTime()))
      time.textContent = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(when);
  }
  const button = document.getElementById("approve");
  if (!button) return;
  const delay = Number(button.dataset.delay) || 0;
  let timer;
  const arm = () => {
    clearTimeout(timer);
    button.disabled = true;
    if (document.visibilityState !== "visible") return;
    timer = setTimeout(() => {
      button.disabled = false;
    }, delay);
  };
  button.hidden = false;
  document.addEventListener("visibilitychange", arm);
  addEventListener("pageshow", arm);
  addEventListener("focus", arm);
  arm();
})();`;

/**
 * The CSP source that allows exactly {@link CONSENT_SCRIPT} inline and nothing else.
 * @see https://www.w3.org/TR/CSP3/#grammardef-hash-source
 */
export const CONSENT_SCRIPT_SOURCE = `'sha256-${createHash("sha256").update(CONSENT_SCRIPT).digest("base64")}'`;
