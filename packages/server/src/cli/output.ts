/**
 * Everything the CLI prints goes through one `Output`: human text (tables, colour, a spinner) or,
 * with `--json`, JSON only, so a script can parse stdout whatever happens. Colour and the spinner
 * appear only on a terminal, and colour never when NO_COLOR is set (https://no-color.org).
 */

export interface Terminal {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface OutputOptions {
  json: boolean;
  stdout: Terminal;
  stderr: Terminal;
  env: Record<string, string | undefined>;
}

export type Align = 'left' | 'right';

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
const ANSI = /\u001b\[[0-9;]*m/g;
const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Output {
  readonly json: boolean;
  /** stdout is a terminal: colour (unless NO_COLOR), a spinner, opening the browser. */
  readonly interactive: boolean;
  readonly color: boolean;
  private readonly stdout: Terminal;
  private readonly stderr: Terminal;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.interactive = options.stdout.isTTY === true;
    const noColor = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '';
    this.color = this.interactive && !noColor && !this.json;
  }

  /** A line of human output (nothing with --json). */
  line(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A progress note: stdout for people, stderr with --json so stdout stays parseable. */
  note(text: string): void {
    (this.json ? this.stderr : this.stdout).write(`${text}\n`);
  }

  /** The command's result with --json (nothing otherwise). */
  data(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
  }

  /** A failure: `{"error":{…}}` on stdout with --json, a message on stderr otherwise. */
  failure(message: string, error?: Record<string, unknown>): void {
    if (this.json) this.stdout.write(`${JSON.stringify({ error: error ?? { message } }, jsonReplacer, 2)}\n`);
    else this.stderr.write(`${this.red('error')}: ${message}\n`);
  }

  table(headers: string[], rows: string[][], align: Align[] = []): void {
    if (this.json) return;
    for (const line of renderTable(headers, rows, align, (text) => this.dim(text))) this.line(line);
  }

  /** Aligned `label  value` lines. */
  fields(entries: Array<[string, string]>): void {
    const width = Math.max(0, ...entries.map(([label]) => label.length));
    for (const [label, value] of entries) this.line(`${this.dim(label.padEnd(width))}  ${value}`);
  }

  /** A spinner on a terminal; elsewhere the text is printed once. */
  spinner(text: string): { stop(): void } {
    if (this.json) return { stop() {} };
    if (!this.interactive) {
      this.line(text);
      return { stop() {} };
    }
    let frame = 0;
    const draw = () =>
      this.stdout.write(`\r${this.cyan(SPINNER_FRAMES[frame++ % SPINNER_FRAMES.length]!)} ${text}`);
    draw();
    const timer = setInterval(draw, 80);
    return {
      stop: () => {
        clearInterval(timer);
        this.stdout.write('\r\u001b[K');
      },
    };
  }

  bold = (text: string) => this.paint(text, 1, 22);
  dim = (text: string) => this.paint(text, 2, 22);
  red = (text: string) => this.paint(text, 31, 39);
  green = (text: string) => this.paint(text, 32, 39);
  yellow = (text: string) => this.paint(text, 33, 39);
  cyan = (text: string) => this.paint(text, 36, 39);

  private paint(text: string, open: number, close: number): string {
    return this.color ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  }
}

/** Columns padded to their widest cell (colour codes not counted), separated by two spaces. */
export function renderTable(
  headers: string[],
  rows: string[][],
  align: Align[] = [],
  styleHeader: (text: string) => string = (text) => text,
): string[] {
  const widths = headers.map((header, column) =>
    Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => {
        const padding = ' '.repeat(widths[column]! - visibleLength(cell));
        return align[column] === 'right' ? padding + cell : cell + padding;
      })
      .join('  ')
      .trimEnd();
  return [styleHeader(render(headers)), ...rows.map(render)];
}

export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
