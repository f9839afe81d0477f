import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { KeyportError } from "./errors.js";
import { nodeIncoming } from "./node-request.js";

// Keyport's one body-size policy: every body is read within a limit, and every refusal is the same
// `413`. Served by Node, a body is read straight from the socket and refused as it grows past the
// limit; elsewhere (`app.request()`, other runtimes) through Hono.

/** Requests to Keyport's pages and key endpoints are small; the gateway passes its own limit. */
export const MAX_BODY_BYTES = 16 * 1024;

/** `413` in OpenRouter's error shape. */
export function bodyTooLarge(maxBytes: number): KeyportError {
  return new KeyportError(413, `Request body is larger than ${maxBytes} bytes`);
}

/**
 * Reads a request's body as text within `maxBytes`: a `413` past it, a `400` when the client goes
 * away before the body is complete.
 * @example
 * const text = await readBody(c, deps.config.gateway.maxBodyBytes);
 */
export async function readBody(c: Context, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const incoming = nodeIncoming(c);
  if (incoming) return (await readNodeBody(incoming, maxBytes)).toString("utf8");
  const text = await c.req.text();
  if (Buffer.byteLength(text) > maxBytes) throw bodyTooLarge(maxBytes);
  return text;
}

/**
 * The same limit as middleware, for bodies Hono itself parses (forms): the `413` comes before
 * the handler runs.
 * @example
 * pages.use(limitBody());
 */
export function limitBody(maxBytes = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw bodyTooLarge(maxBytes);
    },
  });
}

/** Whether the request declares a `Content-Length` above `maxBytes` (refuse before reading). */
export function declaresTooLarge(incoming: IncomingMessage, maxBytes: number): boolean {
  const declared = incoming.headers["content-length"];
  return declared !== undefined && Number(declared) > maxBytes;
}

/**
 * Reads a request body straight from the Node `IncomingMessage`, without building a web
 * `Request` and its `ReadableStream`: a `413` once it grows past `maxBytes` (whatever the
 * `Content-Length` says), a `400` when the client goes away before it is complete.
 * {@link readBody} is the usual way in; this is the Node half of it.
 * @example
 * const body = await readNodeBody(incoming, MAX_BODY_BYTES);
 */
function readNodeBody(incoming: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (declaresTooLarge(incoming, maxBytes)) return Promise.reject(bodyTooLarge(maxBytes));
  if (incoming.readableEnded) return Promise.resolve(Buffer.alloc(0));
  const declared = Number(incoming.headers["content-length"] ?? Number.NaN);
  if (
    !incoming.readableFlowing &&
    (incoming.complete || (declared >= 0 && incoming.readableLength >= declared))
  ) {
    // The whole body has arrived (usually with the headers): take it from the stream's buffer
    // now rather than one event per chunk, a turn of the event loop later.
    const chunks: Buffer[] = [];
    let size = 0;
    for (let chunk = incoming.read() as Buffer | null; chunk !== null; chunk = incoming.read()) {
      size += chunk.length;
      if (size > maxBytes) return Promise.reject(bodyTooLarge(maxBytes));
      chunks.push(chunk);
    }
    incoming.resume(); // run to the end, as a consumed request does
    return Promise.resolve(
      chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
    );
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (error: KeyportError | undefined) => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onClose);
      incoming.off("close", onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        done(bodyTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(undefined);
    const onClose = () => done(new KeyportError(400, "Request body was not received completely"));
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onClose);
    incoming.on("close", onClose);
  });
}
