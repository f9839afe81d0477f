import nodemailer from "nodemailer";
import type { SmtpSettings } from "../config/config.js";

/** One plain-text email. */
interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Sends email; the server has one only when SMTP is configured. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
}

/**
 * A mailer over SMTP with nodemailer: STARTTLS when the server offers it, implicit TLS for
 * `smtps://` or port 465.
 * @example
 * const mailer = smtpMailer({ url: "smtp://mail.example:587", from: "keyport@example.com" });
 * await mailer.send({ to, subject: "Reset your password", text });
 */
export function smtpMailer(settings: SmtpSettings): Mailer {
  const transport = settings.url
    ? nodemailer.createTransport(settings.url)
    : nodemailer.createTransport({
        host: settings.host,
        port: settings.port ?? 587,
        secure: settings.port === 465,
        auth: settings.user ? { user: settings.user, pass: settings.pass ?? "" } : undefined,
      });
  return {
    async send(mail) {
      await transport.sendMail({ from: settings.from, ...mail });
    },
  };
}
