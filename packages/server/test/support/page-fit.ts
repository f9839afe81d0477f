import type { Page } from "playwright-core";
import { expect } from "vitest";
import { expectNoSeriousViolations } from "./a11y.js";

/** The narrowest phone the pages are made for. */
export const NARROW = { width: 360, height: 740 };

/** The page scrolls only vertically at its current viewport: nothing is wider than the screen. */
export async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, viewport } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement?.scrollWidth ?? 0,
    viewport: window.innerWidth,
  }));
  expect(scrollWidth, `${page.url()} is ${scrollWidth}px wide in a ${viewport}px viewport`).toBe(
    viewport,
  );
}

/** The relative luminance (WCAG 2) of the body's background colour. */
async function backgroundLuminance(page: Page): Promise<number> {
  const colour = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const channels = /rgba?\((\d+), (\d+), (\d+)/.exec(colour);
  if (!channels) throw new Error(`unexpected background colour ${colour}`);
  const [r, g, b] = channels.slice(1, 4).map((value) => {
    const c = Number(value) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/**
 * The checks every page gets: at 360 px no horizontal scroll, and in the light and the dark
 * scheme a background of that lightness and no serious axe violation (contrast included).
 * Leaves the page in the light scheme at 360 px.
 */
export async function expectFitsEverywhere(page: Page): Promise<void> {
  await page.setViewportSize(NARROW);
  await expectNoHorizontalScroll(page);
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await backgroundLuminance(page), `${page.url()} in the dark scheme`).toBeLessThan(0.05);
  await expectNoSeriousViolations(page);
  await page.emulateMedia({ colorScheme: "light" });
  expect(await backgroundLuminance(page), `${page.url()} in the light scheme`).toBeGreaterThan(0.8);
  await expectNoSeriousViolations(page);
}
