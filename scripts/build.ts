/**
 * Builds the packages into plain JavaScript with type declarations, so they install and run without
 * TypeScript tooling (`npm run build`; `prepare` after `npm install`, `prepack` before `npm pack`):
 *
 *   client → packages/client/dist/: index.js (ESM), index.cjs (CommonJS), *.d.ts (and *.d.cts for CommonJS)
 *   server → packages/server/dist/: cli.js and index.js (ESM; the server's own code and
 *            @tollgate/client bundled, its npm dependencies left as imports), web/ (the browser files,
 *            prebuilt so that no bundler runs at run time), baseline/ (an initialised embedded
 *            database), types/ (*.d.ts)
 *
 *   node --import tsx scripts/build.ts [client] [server] [--no-types] [--no-baseline] [--out-root DIR]
 *
 * `--no-types` skips the declarations (the slow part: the test suite builds without them).
 * `--out-root DIR` writes DIR/client/dist and DIR/server/dist instead (the packaging test builds
 * there, leaving the dist/ folders that running tests use alone).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = join(ROOT, 'packages/client');
const SERVER = join(ROOT, 'packages/server');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const args = process.argv.slice(2);
const outRootIndex = args.indexOf('--out-root');
const outRoot = outRootIndex >= 0 ? args.splice(outRootIndex, 2)[1] : undefined;
const flags = new Set(args.filter((arg) => arg.startsWith('--')));
const packages = args.filter((arg) => !arg.startsWith('--'));
const outOf = (name: 'client' | 'server', directory: string) =>
  outRoot ? join(outRoot, name, 'dist') : join(directory, 'dist');
const wanted = (name: string) => packages.length === 0 || packages.includes(name);

function log(message: string) {
  process.stderr.write(`build: ${message}\n`);
}

/**
 * The sources import with `.ts` extensions; tsc keeps them in declarations, which a consumer resolves
 * as JavaScript files. Rewrites every relative `.ts` specifier to `.js`.
 */
function rewriteDeclarationSpecifiers(directory: string) {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) {
      rewriteDeclarationSpecifiers(path);
    } else if (entry.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      writeFileSync(
        path,
        text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2'),
      );
    }
  }
}

/**
 * CommonJS twins of the declarations (`x.d.cts` beside each `x.d.ts`, importing `./y.cjs`): a
 * `require` consumer under `moduleResolution: node16/nodenext` must get declarations of a CommonJS
 * module, and in a `"type": "module"` package `.d.ts` files declare ES modules.
 */
function commonJsDeclarations(directory: string) {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) {
      commonJsDeclarations(path);
    } else if (entry.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      writeFileSync(
        path.replace(/\.d\.ts$/, '.d.cts'),
        text.replace(/((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.cjs$2'),
      );
    }
  }
}

function declarations(tsconfig: string, outDir: string) {
  const started = performance.now();
  execFileSync(process.execPath, [TSC, '-p', tsconfig, '--outDir', outDir], { stdio: 'inherit' });
  rewriteDeclarationSpecifiers(outDir);
  log(`declarations in ${outDir} (${Math.round(performance.now() - started)} ms)`);
}

function dependenciesOf(packageDirectory: string): string[] {
  const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8'));
  return Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies });
}

async function buildClient() {
  const out = outOf('client', CLIENT);
  rmSync(out, { recursive: true, force: true });
  for (const format of ['esm', 'cjs'] as const) {
    await build({
      entryPoints: [join(CLIENT, 'src/index.ts')],
      outfile: join(out, format === 'esm' ? 'index.js' : 'index.cjs'),
      bundle: true,
      format,
      platform: 'neutral',
      target: 'es2022',
      sourcemap: true,
      logLevel: 'warning',
    });
  }
  log('client: dist/index.js, dist/index.cjs');
  if (!flags.has('--no-types')) {
    declarations(join(CLIENT, 'tsconfig.build.json'), out);
    commonJsDeclarations(out);
  }
}

/**
 * zod's 60 translations of its error messages are most of its size, and the server answers in English
 * only: the bundle gets the English one alone (zod configures it itself).
 */
const englishOnlyZod: Plugin = {
  name: 'english-only-zod',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'zod')}`)
        ? {
            path: join(args.resolveDir, '../locales/en.js').replace(/en\.js$/, 'english-only.js'),
            namespace: 'zod-locales',
          }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: join(args.path, '..'),
    }));
  },
};

/** Server dependencies loaded on every start: bundled into dist/ (see buildServer). */
const BUNDLED_DEPENDENCIES = new Set(['fastify', 'zod', 'kysely']);

async function buildServer() {
  const out = outOf('server', SERVER);
  // Everything but the baseline, which is rebuilt only when the migrations or PGlite change.
  const previous = existsSync(out) ? readdirSync(out, { withFileTypes: true }) : [];
  for (const entry of previous.filter((entry) => entry.name !== 'baseline')) {
    rmSync(join(out, entry.name), { recursive: true, force: true });
  }
  await build({
    entryPoints: { cli: join(SERVER, 'src/cli/main.ts'), index: join(SERVER, 'src/index.ts') },
    outdir: out,
    bundle: true,
    // The lazily imported parts (the server behind `serve`) become chunks loaded when needed.
    splitting: true,
    chunkNames: '[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The dependencies every start loads (Fastify and its plugins, zod, Kysely, pino) are bundled:
    // one file to read and compile instead of ~200 resolved one by one. The ones read lazily (on first
    // use, or only with a setting) stay imports, and PGlite, which finds its WebAssembly and data
    // files next to its own module, too. @tollgate/client (this repository's) is bundled from its sources.
    external: [...dependenciesOf(SERVER).filter((name) => !BUNDLED_DEPENDENCIES.has(name)), 'esbuild'],
    conditions: ['tollgate-source'],
    // The bundled CommonJS packages (Fastify's) require Node's modules: an ES module has no `require`.
    plugins: [englishOnlyZod],
    banner: {
      js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);",
    },
    sourcemap: true,
    logLevel: 'warning',
  });
  log('server: dist/cli.js, dist/index.js');

  // The browser files, prebuilt: the server reads them from dist/web/ instead of running esbuild.
  const { buildWebAssets } = await import('../packages/server/src/widget/assets.ts');
  const { DashboardAssets } = await import('../packages/server/src/portal/dashboard-assets.ts');
  const web = join(out, 'web');
  mkdirSync(web, { recursive: true });
  for (const asset of Object.values(await buildWebAssets())) {
    writeFileSync(join(web, asset.name), asset.body);
    log(
      `web/${asset.name.padEnd(16)} ${String(asset.body.length).padStart(7)} bytes ${String(asset.gzip.length).padStart(6)} gzipped`,
    );
  }
  for (const bundle of (await new DashboardAssets().build()).values()) {
    writeFileSync(join(web, `${bundle.name}.js`), bundle.code);
    log(
      `web/${`${bundle.name}.js`.padEnd(16)} ${String(bundle.code.length).padStart(7)} bytes ${String(bundle.gzip.length).padStart(6)} gzipped`,
    );
  }

  const { hasBaseline, writeBaseline } = await import('../packages/server/src/store/baseline.ts');
  const repositoryBaseline = join(SERVER, 'dist', 'baseline');
  if (outRoot && !hasBaseline(join(out, 'baseline')) && hasBaseline(repositoryBaseline)) {
    // Building elsewhere: the repository's archive is the same database (same fingerprint).
    cpSync(repositoryBaseline, join(out, 'baseline'), { recursive: true });
  }
  if (!flags.has('--no-baseline') && !hasBaseline(join(out, 'baseline'))) {
    const started = performance.now();
    const file = await writeBaseline(join(out, 'baseline'));
    log(`server: ${file} (${Math.round(performance.now() - started)} ms)`);
  }
  if (!flags.has('--no-types')) declarations(join(SERVER, 'tsconfig.build.json'), join(out, 'types'));
}

if (wanted('client')) await buildClient();
if (wanted('server')) await buildServer();
