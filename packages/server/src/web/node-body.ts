import { type IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import { KeyportError } from "./errors.js";

/** The Node request behind a Hono context when served by `@hono/node-server` (not `app.request()`). */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming;
}

/** The Node response behind a Hono context when served by `@hono/node-server`. */
export function nodeOutgoing(c: Context): ServerResponse | undefined {
  const env = c.env as { outgoing?: ServerResponse } | undefined;
  return env?.outgoing instanceof ServerResponse ? env.outgoing : undefined;
}

/** `413` in OpenRouter's error shape. */
export function bodyTooLarge(maxBytes: number): KeyportError {
  return new KeyportError(413, `Request body is larger than ${maxBytes} bytes`);
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
 * @example
 * const incoming = nodeIncoming(c);
 * const body = incoming ? await readNodeBody(incoming, 16_384) : await c.req.text();
 */
export function readNodeBody(incoming: IncomingMessage, maxBytes: number): Promise<Buffer> {
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
