import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** A mail as the SMTP server received it. */
export interface ReceivedMail {
  readonly to: string[];
  readonly raw: string;
  /** The body with quoted-printable soft breaks and escapes undone. */
  readonly text: string;
}

/** A real SMTP server on loopback that keeps what it receives. */
export interface TestSmtp {
  readonly url: string;
  readonly mails: ReceivedMail[];
  /** Resolves with the `n`-th mail (1-based) once it has arrived. */
  nth(n: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** Starts an `smtp-server` on 127.0.0.1 (no TLS, no auth: loopback only). */
export async function startSmtp(): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        mails.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          text: decodeQuotedPrintable(raw),
        });
        for (const wake of waiters.splice(0)) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async nth(n) {
      while (mails.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return mails[n - 1] as ReceivedMail;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function decodeQuotedPrintable(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** The reset link in a mail. */
export function resetLinkIn(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+\/reset\/[A-Za-z0-9_-]{43}/.exec(mail.text)?.[0];
  if (!link) throw new Error(`no reset link in:\n${mail.raw}`);
  return link;
}
