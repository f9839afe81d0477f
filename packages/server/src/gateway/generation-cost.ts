import type { UpstreamConfig } from "../config/upstreams.js";
import { MICROS_PER_CREDIT } from "../domain/credits.js";

/** Waits between asks: an upstream records a generation's cost shortly after it ended. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 4000];
const LOOKUP_TIMEOUT_MS = 5000;

/**
 * A generation's final cost from an upstream that answers OpenRouter's
 * `GET /generation?id=` (`{"data": {"total_cost": credits, …}}`), in micro-credits; `undefined`
 * when no figure can be had (not found in time, an error, nonsense).
 * @see https://openrouter.ai/docs/api-reference/get-a-generation
 */
export async function generationCostMicros(
  upstream: UpstreamConfig,
  generationId: string,
  fetchFn: typeof fetch = globalThis.fetch,
  delaysMs: readonly number[] = RETRY_DELAYS_MS,
): Promise<number | undefined> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (upstream.apiKey) headers.authorization = `Bearer ${upstream.apiKey.reveal()}`;
  const url = `${upstream.baseUrl}/generation?id=${encodeURIComponent(generationId)}`;
  for (const delay of delaysMs) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const response = await fetchFn(url, {
        headers,
        signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
      if (response.status === 404) {
        await response.body?.cancel();
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const body = (await response.json()) as { data?: { total_cost?: unknown } } | null;
      const cost = body?.data?.total_cost;
      if (typeof cost !== "number" || !Number.isFinite(cost) || cost < 0) return undefined;
      return Math.ceil(cost * MICROS_PER_CREDIT - 1e-6);
    } catch {
      // unreachable or timed out: try again while attempts are left
    }
  }
  return undefined;
}
