/**
 * A local SMTP server for tests: speaks enough of RFC 5321 for smtp.ts (EHLO, AUTH PLAIN, MAIL,
 * RCPT, DATA, QUIT), records every accepted message, and can refuse a recipient or a password.
 */
import net from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The DATA payload with dot-stuffing undone, CRLF line ends. */
  data: string;
  auth: { username: string; password: string } | null;
  /** The decoded text/plain body (base64 transfer encoding). */
  text: string;
  headers: Record<string, string>;
}

export interface FakeSmtp {
  port: number;
  url: string;
  messages: ReceivedMail[];
  /** Every command line received, in order. */
  commands: string[];
  close(): Promise<void>;
}

export async function startFakeSmtp(
  options: { rejectRecipient?: string; password?: string; advertiseAuth?: boolean } = {},
): Promise<FakeSmtp> {
  const messages: ReceivedMail[] = [];
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let current: { from: string; to: string[]; auth: ReceivedMail['auth'] } = {
      from: '',
      to: [],
      auth: null,
    };
    let auth: ReceivedMail['auth'] = null;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 fake-smtp ready');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      while (true) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const data = buffer.slice(0, end).replace(/(^|\r\n)\.\./g, '$1.');
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push({ ...current, auth, data, ...parseMessage(data) });
          current = { from: '', to: [], auth };
          reply('250 2.0.0 queued');
          continue;
        }
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        commands.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') {
          reply('250-fake-smtp greets you');
          reply('250-8BITMIME');
          if (options.advertiseAuth !== false) reply('250-AUTH PLAIN');
          reply('250 SIZE 1000000');
        } else if (verb === 'AUTH') {
          const [, mechanism, token] = line.split(' ');
          const [, username, password] = Buffer.from(token ?? '', 'base64')
            .toString('utf8')
            .split('\u0000');
          if (mechanism !== 'PLAIN' || (options.password !== undefined && password !== options.password)) {
            reply('535 5.7.8 authentication failed');
          } else {
            auth = { username: username ?? '', password: password ?? '' };
            reply('235 2.7.0 authenticated');
          }
        } else if (verb === 'MAIL') {
          current = { from: /<(.*)>/.exec(line)?.[1] ?? '', to: [], auth };
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          const to = /<(.*)>/.exec(line)?.[1] ?? '';
          if (to === options.rejectRecipient) reply('550 5.1.1 no such user');
          else {
            current.to.push(to);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else {
          reply('502 5.5.2 command not recognized');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    commands,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseMessage(data: string): { headers: Record<string, string>; text: string } {
  const split = data.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of data.slice(0, split).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = data.slice(split + 4).replace(/\r\n/g, '');
  const text =
    headers['content-transfer-encoding'] === 'base64'
      ? Buffer.from(body, 'base64').toString('utf8')
      : data.slice(split + 4);
  return { headers, text };
}
