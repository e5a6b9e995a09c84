/**
 * Sending a sign-in code by SMTP, through nodemailer (one message per connection, which is all a
 * login code needs). This file keeps what is Tollgate's: the SMTP_URL forms, address checks before
 * anything is sent, and never sending credentials in clear text beyond loopback.
 *
 * SMTP_URL forms: `smtp://host:587` (upgrades with STARTTLS when the server offers it),
 * `smtps://user:password@host:465` (TLS from the first byte), `smtp://host:25?tls=off` (never upgrade,
 * for a local relay). Credentials are never sent over a connection that is not encrypted, except to a
 * loopback host.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type tls from 'node:tls';

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  startTls: 'auto' | 'off';
  username: string | null;
  password: string | null;
  timeoutMilliseconds: number;
  /** Name announced in EHLO. */
  clientName: string;
  /** Extra TLS options (tests pass a self-signed CA). */
  tlsOptions?: tls.ConnectionOptions;
}

export class SmtpError extends Error {
  constructor(
    message: string,
    readonly replyCode: number | null = null,
  ) {
    super(message);
    this.name = 'SmtpError';
  }
}

export function parseSmtpUrl(url: string, timeoutMilliseconds = 15_000): SmtpSettings {
  const parsed = new URL(url);
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new Error('SMTP_URL must start with smtp:// or smtps://');
  }
  const secure = parsed.protocol === 'smtps:';
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    startTls: parsed.searchParams.get('tls') === 'off' ? 'off' : 'auto',
    username: parsed.username ? decodeURIComponent(parsed.username) : null,
    password: parsed.password ? decodeURIComponent(parsed.password) : null,
    timeoutMilliseconds,
    clientName: hostname() || 'localhost',
  };
}

/** The address inside `Name <address>`; refuses anything that could smuggle SMTP commands or headers. */
function bareAddress(address: string): string {
  const match = /<([^<>]+)>\s*$/.exec(address);
  const bare = (match ? match[1]! : address).trim();
  if (/[\s<>\r\n]/.test(bare) || !bare.includes('@')) throw new SmtpError(`Not a mail address: ${bare}`);
  return bare;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Sends one message; resolves once the server accepted it for delivery (250 after DATA). */
export async function sendMail(settings: SmtpSettings, message: MailMessage): Promise<void> {
  const from = bareAddress(message.from);
  const to = bareAddress(message.to);
  const withCredentials = settings.username !== null;
  // Loaded on the first mail, not at start: most servers never send one.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ignoreTLS: settings.startTls === 'off',
    // Beyond loopback, credentials only over TLS: no STARTTLS offered means no sending.
    requireTLS: withCredentials && !settings.secure && !isLoopback(settings.host),
    auth: withCredentials ? { user: settings.username!, pass: settings.password ?? '' } : undefined,
    name: settings.clientName,
    connectionTimeout: settings.timeoutMilliseconds,
    greetingTimeout: settings.timeoutMilliseconds,
    socketTimeout: settings.timeoutMilliseconds,
    tls: { servername: isIP(settings.host) ? undefined : settings.host, ...settings.tlsOptions },
  });
  try {
    await transport.sendMail({
      from: message.from.replace(/[\r\n]+/g, ' '),
      to: message.to.replace(/[\r\n]+/g, ' '),
      envelope: { from, to: [to] },
      // Header values never carry line breaks (no header injection).
      subject: message.subject.replace(/[\r\n]+/g, ' ').trim(),
      text: message.text,
      textEncoding: 'base64',
    });
  } catch (error) {
    const replyCode = (error as { responseCode?: number }).responseCode ?? null;
    throw new SmtpError(`SMTP: ${(error as Error).message}`, replyCode);
  }
}
