/**
 * How a sign-in code reaches its owner. With SMTP_URL set it is mailed (smtp.ts); without it, on a
 * server whose payments are in test mode, the code is handed back to the widget and written to the
 * log, so the whole flow works on a laptop. A server taking real payments without SMTP has no email
 * sign-in at all: handing out codes there would let anyone sign in as anyone.
 */
import { parseSmtpUrl, type SmtpSettings, sendMail } from './smtp.ts';

export type CodeDelivery = 'smtp' | 'test' | 'disabled';

export interface LoginCodeMail {
  to: string;
  code: string;
  appName: string;
  ttlMinutes: number;
}

export interface LoginCodeSender {
  readonly delivery: CodeDelivery;
  send(mail: LoginCodeMail): Promise<void>;
}

export function loginCodeText(mail: LoginCodeMail): { subject: string; text: string } {
  return {
    subject: `${mail.code} is your ${mail.appName} sign-in code`,
    text: [
      `Your sign-in code for ${mail.appName} is:`,
      '',
      `    ${mail.code}`,
      '',
      `It expires in ${mail.ttlMinutes} minutes. If you did not ask for it, ignore this email.`,
    ].join('\n'),
  };
}

export class SmtpLoginCodeSender implements LoginCodeSender {
  readonly delivery = 'smtp' as const;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly from: string,
  ) {}

  async send(mail: LoginCodeMail): Promise<void> {
    await sendMail(this.settings, { from: this.from, to: mail.to, ...loginCodeText(mail) });
  }
}

/**
 * Hands codes back only while payments are in test mode (decided when the server listens): a server
 * that may not simulate payments may not simulate email either.
 */
export class TestModeCodeSender implements LoginCodeSender {
  constructor(
    private readonly log: (message: string) => void,
    private readonly active: () => boolean = () => true,
  ) {}

  get delivery(): CodeDelivery {
    return this.active() ? 'test' : 'disabled';
  }

  async send(mail: LoginCodeMail): Promise<void> {
    if (!this.active()) throw new Error('email sign-in is not configured');
    this.log(`Test mode: sign-in code for ${mail.to} (${mail.appName}) is ${mail.code}`);
  }
}

export const disabledCodeSender: LoginCodeSender = {
  delivery: 'disabled',
  async send() {
    throw new Error('email sign-in is not configured');
  },
};

export function codeSenderFromEnv(
  env: Record<string, string | undefined>,
  paymentsInTestMode: () => boolean,
  log: (message: string) => void,
): LoginCodeSender {
  if (env.SMTP_URL)
    return new SmtpLoginCodeSender(
      parseSmtpUrl(env.SMTP_URL),
      env.SMTP_FROM ?? 'Tollgate <no-reply@localhost>',
    );
  return new TestModeCodeSender(log, paymentsInTestMode);
}
