/**
 * The packages as someone outside this repository gets them: both are built and packed with `npm pack`,
 * installed from the tarballs into an empty folder (dependencies from the npm cache), and then used
 * there with plain Node — `npx tollgate --help` and `serve`, `@tollgate/client` from ESM and CommonJS,
 * the server as a library, and the declarations through the TypeScript compiler.
 *
 * It builds into a folder of its own (`scripts/build.ts --out-root`), never over the dist/ folders the
 * other tests are running.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_OPTIONS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

let work: string;
let project: string;
let server: ChildProcess | undefined;

/** Runs a command in `cwd` with the environment of someone without this repository's settings. */
function exec(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(TOLLGATE_|DATABASE_URL|NODE_OPTIONS|VITEST)/.test(name),
    ),
  );
  return run(command, args, { cwd, env: { ...clean, ...env }, maxBuffer: 16 * 1024 * 1024 });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tollgate-pack-'));
  // The two package folders as npm packs them: their manifests and files, with dist/ built here.
  for (const name of ['client', 'server']) {
    const source = join(ROOT, 'packages', name);
    const target = join(work, name);
    mkdirSync(target, { recursive: true });
    for (const entry of ['package.json', 'README.md', 'bin']) {
      if (existsSync(join(source, entry)))
        cpSync(join(source, entry), join(target, entry), { recursive: true });
    }
  }
  await exec(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--out-root', work], ROOT);
  const tarballs: string[] = [];
  for (const name of ['client', 'server']) {
    // The build ran above (what `prepack` runs); pack exactly that.
    const { stdout } = await exec(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      join(work, name),
    );
    tarballs.push(join(work, JSON.parse(stdout)[0].filename));
  }
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'someone-elses-app', private: true }));
  await exec('npm', ['install', ...NPM_OPTIONS, ...tarballs], project);
}, 600_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed packages, installed into an empty folder', () => {
  it('ship JavaScript and declarations, and leave TypeScript tooling and bundlers out', () => {
    const modules = join(project, 'node_modules');
    expect(existsSync(join(modules, '@tollgate/client/dist/index.js'))).toBe(true);
    expect(existsSync(join(modules, '@tollgate/client/dist/index.cjs'))).toBe(true);
    expect(existsSync(join(modules, '@tollgate/client/dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(modules, '@tollgate/server/dist/types/index.d.ts'))).toBe(true);
    expect(existsSync(join(modules, '@tollgate/server/src'))).toBe(false);
    expect(readdirSync(join(modules, '@tollgate/server/dist/web')).sort()).toEqual(
      ['billing-gate.js', 'dashboard.js', 'partner.js', 'sdk.js', 'widget.css', 'widget.js'].sort(),
    );
    for (const tool of ['tsx', 'esbuild', 'typescript']) expect(existsSync(join(modules, tool))).toBe(false);
  });

  it('import { Tollgate } from "@tollgate/client" works from ESM and from CommonJS', async () => {
    const script = (load: string) => `${load}
const client = new Tollgate({ baseUrl: 'http://127.0.0.1:1' });
console.log(JSON.stringify({ tollgate: typeof Tollgate, micros: String(toMicros('1.5')), models: typeof client.models.list }));`;
    writeFileSync(join(project, 'esm.mjs'), script("import { Tollgate, toMicros } from '@tollgate/client';"));
    writeFileSync(
      join(project, 'cjs.cjs'),
      script("const { Tollgate, toMicros } = require('@tollgate/client');"),
    );
    for (const file of ['esm.mjs', 'cjs.cjs']) {
      const { stdout } = await exec(process.execPath, [file], project);
      expect(JSON.parse(stdout)).toEqual({ tollgate: 'function', micros: '1500000', models: 'function' });
    }
  });

  it('the declarations type-check a CommonJS consumer of the client (node16: require gets .d.cts)', async () => {
    expect(existsSync(join(project, 'node_modules/@tollgate/client/dist/index.d.cts'))).toBe(true);
    writeFileSync(
      join(project, 'consumer.cts'),
      `import { Tollgate, InsufficientCreditsError, toMicros } from '@tollgate/client';
const client: Tollgate = new Tollgate({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'tg_sk_x' });
const micros: bigint = toMicros('1.5');
export const used = [client.models, InsufficientCreditsError, micros];
`,
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    // node16, not nodenext: TypeScript's nodenext lets `require` load an ES module (as Node 22 does),
    // which would hide CommonJS declarations that are missing.
    await exec(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'node16',
        '--moduleResolution',
        'node16',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
        'consumer.cts',
      ],
      project,
    );
  });

  it('the declarations type-check a consumer (NodeNext)', async () => {
    writeFileSync(
      join(project, 'consumer.mts'),
      `import { Tollgate, InsufficientCreditsError } from '@tollgate/client';
import { createTollgate, type TollgateOptions } from '@tollgate/server';
const client: Tollgate = new Tollgate({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'tg_sk_x' });
const options: TollgateOptions = { sweeper: false };
export const used = [client.models, InsufficientCreditsError, createTollgate, options];
`,
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    await exec(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules/@types'),
        'consumer.mts',
      ],
      project,
    );
  });

  it('npx tollgate --help prints the commands', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'tollgate', '--help'], project);
    expect(stdout).toContain('Usage: tollgate <command>');
    expect(stdout).toContain('serve');
  });

  it('npx tollgate serve starts on a new data folder from the packaged baseline and serves the API and the widget', async () => {
    const port = await freePort();
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !/^(TOLLGATE_|DATABASE_URL|NODE_OPTIONS|VITEST)/.test(name),
      ),
    );
    server = spawn('npx', ['--no-install', 'tollgate', 'serve', '--port', String(port)], {
      cwd: project,
      env: { ...clean, TOLLGATE_DATA_DIR: join(work, 'data'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const base = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status, {
        timeout: 120_000,
        interval: 100,
      })
      .toBe(200);
    expect(stderr).toContain('from the packaged baseline');
    expect(stderr).toContain('migrations: up to date');

    const models = await fetch(`${base}/v1/models`);
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const sdk = await fetch(`${base}/sdk.js`);
    expect(sdk.status).toBe(200);
    expect(await sdk.text()).toContain('Tollgate');
    const dashboard = await fetch(`${base}/dashboard/`);
    expect(dashboard.status).toBe(200);

    // The installed client against the installed server.
    writeFileSync(
      join(project, 'catalog.mjs'),
      `import { Tollgate } from '@tollgate/client';
const list = await new Tollgate({ baseUrl: process.argv[2] }).models.list();
console.log(list.data.length);`,
    );
    const { stdout } = await exec(process.execPath, ['catalog.mjs', base], project);
    expect(Number(stdout.trim())).toBeGreaterThan(0);
    // As long as the wait for /healthz above: a machine shared by other work starts slowly.
  }, 180_000);
});
