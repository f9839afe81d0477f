import { fromMicros } from "../domain/credits.js";
import type { KeyOrigin } from "../domain/key-origin.js";

/** Micro-credits as credits, with as many decimals as they need (at most 6). */
export function credits(micros: number): string {
  return fromMicros(micros)
    .toFixed(6)
    .replace(/\.?0+$/, "");
}

/** An instant as `2026-12-02 13:04 UTC`; `never` for none. */
export function when(date: Date | null, none = "never"): string {
  return date ? `${date.toISOString().slice(0, 16).replace("T", " ")} UTC` : none;
}

/** How a key was made, in words. */
export function originText(origin: KeyOrigin | null): string {
  switch (origin?.via) {
    case "app":
      return `App at ${origin.app}`;
    case "headless":
      return "Sign-in from a terminal (headless)";
    case "cli":
      return "keyport CLI";
    case "management":
      return "Management API";
    case "dashboard":
      return "This dashboard";
    default:
      return "Not recorded";
  }
}
