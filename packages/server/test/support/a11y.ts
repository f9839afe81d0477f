import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

/** The real axe-core engine, read once from node_modules. */
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

/** One axe finding, as much as a failure message needs. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2.x A/AA rules and best practices) on the page as it stands and fails the
 * test on any serious or critical violation, listing each with the elements it found.
 * axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so pages
 * are checked with their real `script-src`.
 * @example
 * await page.goto(`${baseUrl}/keys`);
 * await expectNoSeriousViolations(page);
 */
export async function expectNoSeriousViolations(page: Page): Promise<void> {
  const violations = await seriousViolations(page);
  const report = violations.map(
    (v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.targets.join("\n    ")}`,
  );
  if (report.length > 0) {
    throw new Error(`axe found serious violations on ${page.url()}:\n  ${report.join("\n  ")}`);
  }
}

/** The serious and critical axe violations of the page. */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  const installed = await page.evaluate("typeof window.axe === 'object'");
  if (!installed) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: AxeGlobal }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((node) => node.target.join(" ")),
      }));
  });
}

/** The slice of axe's browser API the check uses. */
interface AxeGlobal {
  run(
    context: Document,
    options: { resultTypes: string[] },
  ): Promise<{
    violations: {
      id: string;
      impact: string | null;
      help: string;
      nodes: { target: string[] }[];
    }[];
  }>;
}
