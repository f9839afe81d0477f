// The gateway's overhead: the same chat completion sent straight to a minimal OpenAI-compatible
// upstream (bench/fake-upstream.ts, its own process) and through Keyport (key check, atomic
// reservation, settle with its request record, on a SQLite file), as JSON and as a stream. After
// each run the requests table must hold a settled record for every 200 wrk counted. Run through
// bench/run.ts (npm run bench).
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { MODEL } from "./fake-upstream.js";
import type { Side, Workload } from "./support/compare.js";
import { exchangeKey, prepareCodes, startKeyport } from "./support/keyport.js";
import { freePort, startProcess } from "./support/processes.js";

/** Starts the upstream and Keyport in `dir`; the caller stops the returned processes. */
export async function gatewayWorkloads(
  dir: string,
  children: ChildProcess[],
): Promise<{ json: Workload; stream: Workload; floor: Workload[] }> {
  const database = join(dir, "gateway.sqlite");
  const upstreamPort = await freePort();
  const keyportPort = await freePort();
  const [prepared] = await prepareCodes(database, 1, {
    label: "bench gateway",
    limitMicros: 1_000_000 * 1_000_000, // a million credits: every request reserves and settles
    limitReset: "monthly",
  });
  if (!prepared) throw new Error("no code prepared");
  children.push(
    await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/fake-upstream.ts", String(upstreamPort)],
      `http://127.0.0.1:${upstreamPort}/`,
    ),
  );
  const upstreams = [
    {
      name: "bench",
      baseUrl: `http://127.0.0.1:${upstreamPort}/v1`,
      models: [{ id: MODEL, promptPrice: 0.000001, completionPrice: 0.000002, maxTokens: 256 }],
    },
  ];
  const keyport = await startKeyport(keyportPort, database, {
    KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
    // One key carries the whole load: its abuse limits (on by default) would cap the figures.
    KEYPORT_GATEWAY_RATE_LIMIT: "0",
    KEYPORT_GATEWAY_MAX_IN_FLIGHT: "0",
  });
  children.push(keyport);
  const key = await exchangeKey(`http://127.0.0.1:${keyportPort}`, prepared);
  const records = new SQLite(database, { readonly: true });
  const settled = (streamed: boolean) =>
    (
      records
        .prepare("SELECT count(*) AS n FROM requests WHERE status = 200 AND streamed = ?")
        .get(streamed ? 1 : 0) as { n: number }
    ).n;

  const workload = (stream: boolean): Workload => {
    const bodyFile = join(dir, `chat-${stream ? "stream" : "json"}.json`);
    writeFileSync(
      bodyFile,
      JSON.stringify({
        model: MODEL,
        stream,
        max_tokens: 64,
        messages: [{ role: "user", content: "Tell me about foxes." }],
      }),
    );
    let before = 0;
    const viaKeyport: Side = {
      url: `http://127.0.0.1:${keyportPort}/api/v1/chat/completions`,
      headers: { Authorization: `Bearer ${key}` },
      bodyFile,
      pid: keyport.pid,
      async prepare() {
        before = settled(stream);
        return {};
      },
      async verify(result) {
        // A lone request's settle may commit just after its answer: give it a moment.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const records = settled(stream) - before;
        return records >= result.requests
          ? undefined
          : `${result.requests} answers but ${records} settled request records`;
      },
    };
    return {
      name: stream ? "gateway stream" : "gateway JSON",
      baselineName: "direct",
      baseline: { url: `http://127.0.0.1:${upstreamPort}/v1/chat/completions`, bodyFile },
      keyport: viaKeyport,
    };
  };
  const json = workload(false);
  const floorOf = async (client: "node-http" | "undici", name: string): Promise<Workload> => {
    const proxyPort = await freePort();
    const proxy = await startProcess(
      process.execPath,
      ["--import", "tsx", "bench/bare-proxy.ts", client, String(upstreamPort), String(proxyPort)],
      `http://127.0.0.1:${proxyPort}/healthz`,
    );
    children.push(proxy);
    return {
      name,
      baselineName: "direct",
      baseline: json.baseline,
      keyport: {
        url: `http://127.0.0.1:${proxyPort}/v1/chat/completions`,
        bodyFile: json.baseline.bodyFile,
        pid: proxy.pid,
      },
    };
  };
  const floor = [
    await floorOf("node-http", "bare node:http proxy (no Keyport)"),
    await floorOf("undici", "bare undici proxy (no Keyport)"),
  ];
  return { json, stream: workload(true), floor };
}
