import { isIPv4, isIPv6 } from "node:net";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

/**
 * The address rate limits count against: the socket's peer or, when the operator said a trusted
 * proxy sits in front, the last `X-Forwarded-For` entry — the one that proxy appended. Earlier
 * entries are whatever the client wrote and are ignored. IPv6 clients count per /64, the block
 * one subscriber typically holds, so rotating addresses within it buys nothing.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return addressBlock(forwarded);
  }
  try {
    return addressBlock(getConnInfo(c).remote.address ?? "unknown");
  } catch {
    return "in-process";
  }
}

/** An IPv4 address as is; an IPv6 address as its /64 (`2001:db8:0:1::/64`). */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped && isIPv4(mapped)) return mapped;
  if (!isIPv6(address)) return address;
  const [head = "", tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}
