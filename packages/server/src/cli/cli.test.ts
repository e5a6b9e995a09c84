/** The CLI's pure parts: argument parsing, command lookup, tables, colour rules, price text. */
import { describe, expect, it } from 'vitest';
import { type Command, decimalFlag, parseCommandArgs, UsageError } from './command.ts';
import { priceText, signedCredits } from './format.ts';
import { commandHelp, findCommand, main } from './main.ts';
import { Output, renderTable } from './output.ts';

function capture(isTTY = false) {
  let text = '';
  return {
    write: (chunk: string) => (text += chunk),
    isTTY,
    get text() {
      return text;
    },
  };
}

const redeem: Command = {
  path: ['gift', 'redeem'],
  group: 'user',
  summary: 'redeem',
  positionals: ['code'],
  options: { limit: { type: 'string' } },
  run: async () => 0,
};

describe('findCommand', () => {
  it('prefers the two-word command, falls back to the one-word one', () => {
    expect(findCommand(['billing', 'buy', '--amount', '5']).command.path).toEqual(['billing', 'buy']);
    expect(findCommand(['billing', '--json']).command.path).toEqual(['billing']);
    expect(findCommand(['billing', '--json']).args).toEqual(['--json']);
  });

  it('refuses unknown commands and bare or unknown subcommands as usage errors', () => {
    expect(() => findCommand(['frobnicate'])).toThrow(new UsageError('unknown command: frobnicate'));
    expect(() => findCommand(['gift'])).toThrow(/tollgate gift needs a subcommand: redeem, create/);
    expect(() => findCommand(['keys', 'rotate'])).toThrow(/unknown subcommand: tollgate keys rotate/);
  });
});

describe('parseCommandArgs', () => {
  it('parses the command flags and the common ones', () => {
    expect(parseCommandArgs(redeem, ['TG-1', '--json', '--url', 'http://x'])).toEqual({
      values: { json: true, url: 'http://x' },
      positionals: ['TG-1'],
    });
  });

  it('turns unknown flags, missing and extra arguments into usage errors', () => {
    expect(() => parseCommandArgs(redeem, ['TG-1', '--nope'])).toThrow(/unknown flag '--nope'/);
    expect(() => parseCommandArgs(redeem, [])).toThrow(/missing argument CODE/);
    expect(() => parseCommandArgs(redeem, ['a', 'b'])).toThrow(/unexpected argument: b/);
    expect(() => parseCommandArgs(redeem, ['--limit'])).toThrow(UsageError);
  });

  it('lets --help through without the required arguments', () => {
    expect(parseCommandArgs(redeem, ['--help']).values.help).toBe(true);
  });
});

describe('decimalFlag', () => {
  it('keeps exact text and refuses what is not a plain decimal', () => {
    expect(decimalFlag({ amount: '25.50' }, 'amount', redeem, { maxDecimals: 2 })).toBe('25.50');
    expect(decimalFlag({}, 'amount', redeem)).toBeUndefined();
    expect(() => decimalFlag({ amount: '1e3' }, 'amount', redeem)).toThrow(UsageError);
    expect(() => decimalFlag({ amount: '0.001' }, 'amount', redeem, { maxDecimals: 2 })).toThrow(
      /at most 2 decimals/,
    );
    expect(() => decimalFlag({ amount: '-5' }, 'amount', redeem)).toThrow(UsageError);
    expect(decimalFlag({ amount: '-5' }, 'amount', redeem, { signed: true })).toBe('-5');
    expect(() => decimalFlag({ amount: '0.00' }, 'amount', redeem, { positive: true })).toThrow(
      /greater than 0/,
    );
  });
});

describe('Output', () => {
  it('pads columns to the widest cell, ignoring colour codes, right-aligning numbers', () => {
    expect(
      renderTable(
        ['MODEL', 'PRICE'],
        [
          ['a', '\u001b[1m0.3\u001b[22m'],
          ['fal-ai/veo3.1', '10'],
        ],
        ['left', 'right'],
      ),
    ).toEqual(['MODEL          PRICE', 'a                \u001b[1m0.3\u001b[22m', 'fal-ai/veo3.1     10']);
  });

  it('colours only a terminal, and never with NO_COLOR or --json', () => {
    const pipe = new Output({ json: false, stdout: capture(false), stderr: capture(), env: {} });
    const tty = new Output({ json: false, stdout: capture(true), stderr: capture(), env: {} });
    const noColor = new Output({
      json: false,
      stdout: capture(true),
      stderr: capture(),
      env: { NO_COLOR: '1' },
    });
    expect(pipe.bold('x')).toBe('x');
    expect(tty.bold('x')).toBe('\u001b[1mx\u001b[22m');
    expect(noColor.bold('x')).toBe('x');
  });

  it('with --json writes JSON only: human lines are dropped, notes go to stderr', () => {
    const stdout = capture();
    const stderr = capture();
    const output = new Output({ json: true, stdout, stderr, env: {} });
    output.line('Balance 5');
    output.table(['A'], [['1']]);
    output.note('Pay here: http://x');
    output.data({ balance: 5 });
    expect(JSON.parse(stdout.text)).toEqual({ balance: 5 });
    expect(stderr.text).toBe('Pay here: http://x\n');
  });
});

describe('format', () => {
  it('writes every kind of price', () => {
    expect(priceText({ per_call: 0.3 })).toBe('0.3 / call');
    expect(priceText({ per_unit: 10, unit: 'second' })).toBe('10 / second');
    expect(
      priceText({ input_per_million: 250, output_per_million: 1000, cached_input_per_million: 125 }),
    ).toBe('250 in · 125 cached · 1,000 out / 1M tokens');
    expect(priceText({})).toBe('free');
    expect(signedCredits(-1234.5)).toBe('-1,234.5');
    expect(signedCredits(1)).toBe('+1');
  });
});

describe('main', () => {
  const io = () => ({ stdout: capture(), stderr: capture(), stdin: process.stdin, env: {} });

  it('exits 2 on usage errors and 0 on help, without touching the network', async () => {
    const unknown = io();
    expect(await main(['nope'], unknown)).toBe(2);
    expect(unknown.stderr.text).toContain('unknown command: nope');
    const json = io();
    expect(await main(['gift', 'redeem', '--json'], json)).toBe(2);
    expect(JSON.parse(json.stdout.text)).toEqual({
      error: { code: 'usage', message: 'missing argument CODE' },
    });
    const help = io();
    expect(await main(['help', 'charge'], help)).toBe(0);
    expect(help.stdout.text).toContain('Usage: tollgate charge --model MODEL');
    expect(commandHelp(redeem)).toContain('--user-key KEY');
  });

  it('exits 2 when a user command has no user key', async () => {
    const missing = io();
    expect(await main(['billing'], missing)).toBe(2);
    expect(missing.stderr.text).toContain('set TOLLGATE_USER_KEY or pass --user-key');
  });
});
