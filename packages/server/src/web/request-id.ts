import type { MiddlewareHandler } from "hono";
import { newRequestId } from "../domain/request-ids.js";
import type { AppEnv } from "./context.js";

/**
 * What an incoming `X-Request-Id` may be to be kept: a proxy's or a client's id (nginx's
 * `$request_id`, a UUID, a trace id), short and plain, so it cannot forge log lines or headers.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request one id: the incoming `X-Request-Id` when it is sane, else a new
 * time-ordered UUID (`newRequestId`). It is in `c.var.requestId`, in the response's
 * `X-Request-Id` and in the request's log line.
 * @example
 * app.use(requestId());
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestId(c, next) {
    const incoming = c.req.header("x-request-id");
    const fromClient = incoming !== undefined && SANE_REQUEST_ID.test(incoming);
    const id = fromClient ? incoming : newRequestId();
    c.set("requestId", id);
    c.set("requestIdFromClient", fromClient);
    c.header("X-Request-Id", id);
    await next();
    // A response built outside the context (a relayed stream) does not carry it yet.
    if (c.res.headers.get("X-Request-Id") !== id) c.header("X-Request-Id", id);
  };
}
