import { afterEach, describe, expect, it } from 'vitest';
import { type FakeSmtp, startFakeSmtp } from '../../test/fakes/fake-smtp.ts';
import { parseSmtpUrl, SmtpError, sendMail } from './smtp.ts';

describe('SMTP_URL', () => {
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

  it('delivers one message through EHLO, AUTH PLAIN, MAIL, RCPT and DATA', async () => {
    fake = await startFakeSmtp({ password: 'secret' });
    await sendMail(parseSmtpUrl(`smtp://mailer:secret@127.0.0.1:${fake.port}?tls=off`), {
      from: 'Tollgate <no-reply@example.com>',
      to: 'buyer@example.com',
      subject: '123456 is your code',
      text: 'Your code:\n.123456\n',
    });
    // The conversation up to the accepted message (nodemailer ends the connection its own way).
    expect(fake.commands.map((command) => command.split(' ')[0]).slice(0, 5)).toEqual([
      'EHLO',
      'AUTH',
      'MAIL',
      'RCPT',
      'DATA',
    ]);
    const [message] = fake.messages;
    expect(message).toMatchObject({
      from: 'no-reply@example.com',
      to: ['buyer@example.com'],
      auth: { username: 'mailer', password: 'secret' },
    });
    expect(message!.headers.subject).toBe('123456 is your code');
    expect(message!.text).toMatch(/^Your code:\r\n\.123456(\r\n)?$/); // the dot line survives
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

  it('keeps a subject on one line (no header injection) and the body intact in UTF-8', async () => {
    fake = await startFakeSmtp();
    await sendMail(parseSmtpUrl(`${fake.url}?tls=off`), {
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'Hello\r\nBcc: victim@example.com',
      text: 'Crédits: 123456\n.hidden\nBye',
    });
    const [message] = fake.messages;
    expect(message!.headers.bcc).toBeUndefined();
    expect(message!.headers.subject).toBe('Hello Bcc: victim@example.com');
    expect(message!.to).toEqual(['b@example.com']);
    expect(message!.text.replace(/\r\n/g, '\n')).toBe('Crédits: 123456\n.hidden\nBye');
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
