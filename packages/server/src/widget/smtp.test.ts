import { afterEach, describe, expect, it } from 'vitest';
import { type FakeSmtp, startFakeSmtp } from '../../test/fakes/fake-smtp.ts';
import { dotStuff, formatMessage, headerValue, parseSmtpUrl, SmtpError, sendMail } from './smtp.ts';

describe('SMTP message formatting', () => {
  it('keeps header values on one line and encodes non-ASCII as an RFC 2047 word', () => {
    expect(headerValue('Hello\r\nBcc: victim@example.com')).toBe('Hello Bcc: victim@example.com');
    expect(headerValue('Crédits')).toBe(`=?UTF-8?B?${Buffer.from('Crédits').toString('base64')}?=`);
  });

  it('dot-stuffs lines that start with a dot and terminates the data', () => {
    expect(dotStuff('.hidden\r\nline\r\n.also')).toBe('..hidden\r\nline\r\n..also\r\n.\r\n');
  });

  it('writes a base64 UTF-8 body', () => {
    const message = formatMessage({
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'Hi',
      text: 'Code: 123456\nBye',
    });
    expect(message).toContain('Content-Transfer-Encoding: base64');
    const body = message.split('\r\n\r\n')[1]!.replace(/\r\n/g, '');
    expect(Buffer.from(body, 'base64').toString('utf8')).toBe('Code: 123456\r\nBye');
  });

  it('parses SMTP_URL forms', () => {
    expect(parseSmtpUrl('smtps://user%40x:p%3Ass@mail.example.com')).toMatchObject({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      username: 'user@x',
      password: 'p:ss',
    });
    expect(parseSmtpUrl('smtp://relay:25?tls=off')).toMatchObject({
      port: 25,
      secure: false,
      startTls: 'off',
      username: null,
    });
    expect(() => parseSmtpUrl('http://example.com')).toThrow(/smtp/);
  });
});

describe('sendMail against a local SMTP server', () => {
  let fake: FakeSmtp | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('delivers one message through EHLO, AUTH PLAIN, MAIL, RCPT, DATA and QUIT', async () => {
    fake = await startFakeSmtp({ password: 'secret' });
    await sendMail(parseSmtpUrl(`smtp://mailer:secret@127.0.0.1:${fake.port}?tls=off`), {
      from: 'Tollgate <no-reply@example.com>',
      to: 'buyer@example.com',
      subject: '123456 is your code',
      text: 'Your code:\n.123456\n',
    });
    expect(fake.commands.map((command) => command.split(' ')[0])).toEqual([
      'EHLO',
      'AUTH',
      'MAIL',
      'RCPT',
      'DATA',
      'QUIT',
    ]);
    const [message] = fake.messages;
    expect(message).toMatchObject({
      from: 'no-reply@example.com',
      to: ['buyer@example.com'],
      auth: { username: 'mailer', password: 'secret' },
    });
    expect(message!.headers.subject).toBe('123456 is your code');
    expect(message!.text).toBe('Your code:\r\n.123456\r\n');
  });

  it('fails with the server reply when a recipient is refused', async () => {
    fake = await startFakeSmtp({ rejectRecipient: 'nobody@example.com' });
    const sending = sendMail(parseSmtpUrl(`${fake.url}?tls=off`), {
      from: 'no-reply@example.com',
      to: 'nobody@example.com',
      subject: 'x',
      text: 'x',
    });
    await expect(sending).rejects.toBeInstanceOf(SmtpError);
    await expect(sending).rejects.toMatchObject({ replyCode: 550 });
    expect(fake.messages).toHaveLength(0);
  });

  it('fails when the password is wrong, and when nothing listens', async () => {
    fake = await startFakeSmtp({ password: 'right' });
    await expect(
      sendMail(parseSmtpUrl(`smtp://u:wrong@127.0.0.1:${fake.port}?tls=off`), {
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 's',
        text: 't',
      }),
    ).rejects.toMatchObject({ replyCode: 535 });
    const port = fake.port;
    await fake.close();
    fake = undefined;
    await expect(
      sendMail(parseSmtpUrl(`smtp://127.0.0.1:${port}?tls=off`, 2000), {
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 's',
        text: 't',
      }),
    ).rejects.toBeInstanceOf(SmtpError);
  });

  it('refuses a recipient that could smuggle SMTP commands', async () => {
    fake = await startFakeSmtp();
    await expect(
      sendMail(parseSmtpUrl(`${fake.url}?tls=off`), {
        from: 'a@example.com',
        to: 'b@example.com>\r\nRCPT TO:<c@example.com',
        subject: 's',
        text: 't',
      }),
    ).rejects.toBeInstanceOf(SmtpError);
    expect(fake.commands).toHaveLength(0);
  });
});
