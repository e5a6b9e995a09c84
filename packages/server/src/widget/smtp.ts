/**
 * Just enough SMTP to send a sign-in code (RFC 5321): greeting, EHLO, STARTTLS when offered, AUTH
 * PLAIN when the URL carries credentials, MAIL FROM, RCPT TO, DATA, QUIT. No dependency; one message
 * per connection, which is all a login code needs.
 *
 * SMTP_URL forms: `smtp://host:587` (upgrades with STARTTLS when the server offers it),
 * `smtps://user:password@host:465` (TLS from the first byte), `smtp://host:25?tls=off` (never upgrade,
 * for a local relay). Credentials are never sent over a connection that is not encrypted, except to a
 * loopback host.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';

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

/** Header values never carry line breaks (no header injection); non-ASCII becomes an RFC 2047 word. */
export function headerValue(value: string): string {
  const single = value.replace(/[\r\n]+/g, ' ').trim();
  return /^[\x20-\x7e]*$/.test(single)
    ? single
    : `=?UTF-8?B?${Buffer.from(single, 'utf8').toString('base64')}?=`;
}

/** The DATA payload: headers, a base64 UTF-8 body in 76-character lines, CRLF line ends. */
export function formatMessage(message: MailMessage, date: Date = new Date()): string {
  const domain = message.from.split('@')[1]?.replace(/[^\w.-]/g, '') || 'localhost';
  const body = Buffer.from(message.text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64');
  const lines = [
    `From: ${headerValue(message.from)}`,
    `To: ${headerValue(message.to)}`,
    `Subject: ${headerValue(message.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    ...(body.match(/.{1,76}/g) ?? []),
  ];
  return lines.join('\r\n');
}

/** Lines starting with a dot get another one (RFC 5321 §4.5.2), and the payload ends with CRLF.CRLF. */
export function dotStuff(payload: string): string {
  return `${payload.replace(/(^|\r\n)\./g, '$1..')}\r\n.\r\n`;
}

function bareAddress(address: string): string {
  const match = /<([^<>]+)>\s*$/.exec(address);
  const bare = (match ? match[1]! : address).trim();
  if (/[\s<>\r\n]/.test(bare) || !bare.includes('@')) throw new SmtpError(`Not a mail address: ${bare}`);
  return bare;
}

interface Reply {
  code: number;
  lines: string[];
}

class SmtpConnection {
  private socket: net.Socket;
  private buffered = '';
  private readonly replies: Reply[] = [];
  private pendingLines: string[] = [];
  private waiter: { resolve(reply: Reply): void; reject(error: Error): void } | null = null;
  private failure: Error | null = null;

  constructor(
    socket: net.Socket,
    private readonly timeoutMilliseconds: number,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.setTimeout(this.timeoutMilliseconds, () => this.fail(new SmtpError('SMTP server timed out')));
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (error) => this.fail(new SmtpError(`SMTP connection failed: ${error.message}`)));
    socket.on('close', () => this.fail(new SmtpError('SMTP connection closed')));
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end = this.buffered.indexOf('\r\n');
    while (end >= 0) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      this.pendingLines.push(line);
      // "250-…" continues a reply, "250 …" (or a bare code) ends it.
      if (line.length <= 3 || line[3] === ' ') {
        const reply = {
          code: Number(line.slice(0, 3)),
          lines: this.pendingLines.map((text) => text.slice(4)),
        };
        this.pendingLines = [];
        if (this.waiter) {
          const waiter = this.waiter;
          this.waiter = null;
          waiter.resolve(reply);
        } else {
          this.replies.push(reply);
        }
      }
      end = this.buffered.indexOf('\r\n');
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.reject(this.failure);
    }
    this.socket.destroy();
  }

  read(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  async expect(accepted: number[], what: string): Promise<Reply> {
    const reply = await this.read();
    if (!accepted.includes(reply.code)) {
      throw new SmtpError(`SMTP ${what} refused: ${reply.code} ${reply.lines.join(' ')}`, reply.code);
    }
    return reply;
  }

  async command(line: string, accepted: number[], what = line.split(' ')[0]!): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.expect(accepted, what);
  }

  write(data: string): void {
    this.socket.write(data);
  }

  /** Replaces the plain socket with a TLS one over it (after STARTTLS). */
  async upgrade(options: tls.ConnectionOptions): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.setTimeout(0);
    const secure = await connectTls({ ...options, socket: plain }, this.timeoutMilliseconds);
    this.socket = secure;
    this.buffered = '';
    this.attach(secure);
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

function connectPlain(host: string, port: number, timeoutMilliseconds: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SmtpError(`SMTP connection to ${host}:${port} timed out`));
    }, timeoutMilliseconds);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new SmtpError(`SMTP connection to ${host}:${port} failed: ${error.message}`));
    });
  });
}

function connectTls(options: tls.ConnectionOptions, timeoutMilliseconds: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SmtpError('SMTP TLS handshake timed out'));
    }, timeoutMilliseconds);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new SmtpError(`SMTP TLS failed: ${error.message}`));
    });
  });
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** Sends one message; resolves once the server accepted it for delivery (250 after DATA). */
export async function sendMail(settings: SmtpSettings, message: MailMessage): Promise<void> {
  const from = bareAddress(message.from);
  const to = bareAddress(message.to);
  const tlsOptions: tls.ConnectionOptions = {
    servername: net.isIP(settings.host) ? undefined : settings.host,
    ...settings.tlsOptions,
  };
  const socket = settings.secure
    ? await connectTls(
        { host: settings.host, port: settings.port, ...tlsOptions },
        settings.timeoutMilliseconds,
      )
    : await connectPlain(settings.host, settings.port, settings.timeoutMilliseconds);
  const connection = new SmtpConnection(socket, settings.timeoutMilliseconds);
  try {
    await connection.expect([220], 'greeting');
    let hello = await connection.command(`EHLO ${settings.clientName}`, [250], 'EHLO');
    const offers = (keyword: string) =>
      hello.lines.some((line) => line.toUpperCase().split(' ')[0] === keyword);
    if (!connection.encrypted && settings.startTls === 'auto' && offers('STARTTLS')) {
      await connection.command('STARTTLS', [220]);
      await connection.upgrade({ host: settings.host, ...tlsOptions });
      hello = await connection.command(`EHLO ${settings.clientName}`, [250], 'EHLO');
    }
    if (settings.username !== null) {
      if (!connection.encrypted && !isLoopback(settings.host)) {
        throw new SmtpError('Refusing to send SMTP credentials over an unencrypted connection');
      }
      const token = Buffer.from(
        `\u0000${settings.username}\u0000${settings.password ?? ''}`,
        'utf8',
      ).toString('base64');
      await connection.command(`AUTH PLAIN ${token}`, [235], 'AUTH');
    }
    await connection.command(`MAIL FROM:<${from}>`, [250], 'MAIL FROM');
    await connection.command(`RCPT TO:<${to}>`, [250, 251], 'RCPT TO');
    await connection.command('DATA', [354]);
    connection.write(dotStuff(formatMessage(message)));
    await connection.expect([250], 'message');
    await connection.command('QUIT', [221]).catch(() => undefined);
  } finally {
    connection.close();
  }
}
