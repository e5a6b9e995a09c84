/**
 * The browser code, loaded when first asked for (not at start, so a server that never serves the
 * widget never pays for it) and kept in memory with its gzip form: `sdk.js` (the host page's
 * `window.Tollgate`), `widget.js` and `widget.css` (the widget page). The built package carries them
 * prebuilt (`dist/web/`, written by `scripts/build.ts`); run from the sources, esbuild builds them from
 * packages/web/src.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export type AssetName = 'sdk.js' | 'widget.js' | 'widget.css';

export interface BuiltAsset {
  name: AssetName;
  contentType: string;
  body: Buffer;
  gzip: Buffer;
  /** Strong validator and cache-busting version: a digest of the body. */
  hash: string;
}

export type BuiltAssets = Record<AssetName, BuiltAsset>;

/** packages/web/src, next to this package in the repository. */
export const WEB_SOURCE_DIRECTORY = fileURLToPath(new URL('../../../web/src/', import.meta.url));

const ENTRY_POINTS: Record<AssetName, { file: string; out: string; contentType: string }> = {
  'sdk.js': { file: 'sdk.ts', out: 'sdk', contentType: 'text/javascript; charset=utf-8' },
  'widget.js': { file: 'widget-page.ts', out: 'widget', contentType: 'text/javascript; charset=utf-8' },
  'widget.css': { file: 'widget.css', out: 'widget-style', contentType: 'text/css; charset=utf-8' },
};

/**
 * Where the build puts the prebuilt browser files: `web/` beside the bundled server code (dist/web/).
 * Run from the sources this names a folder that does not exist, and the files are built instead.
 */
export const PREBUILT_WEB_DIRECTORY = fileURLToPath(new URL('./web/', import.meta.url));

/** A file's body with its gzip form and digest. */
export function describeAsset(body: Buffer): { body: Buffer; gzip: Buffer; hash: string } {
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
  };
}

/** The prebuilt files of `directory`, or null when it does not hold them all (run from the sources). */
export function readPrebuiltWebAssets(directory = PREBUILT_WEB_DIRECTORY): BuiltAssets | null {
  const names = Object.keys(ENTRY_POINTS) as AssetName[];
  if (!names.every((name) => existsSync(join(directory, name)))) return null;
  const built = {} as BuiltAssets;
  for (const name of names) {
    const body = readFileSync(join(directory, name));
    built[name] = { name, contentType: ENTRY_POINTS[name].contentType, ...describeAsset(body) };
  }
  return built;
}

/** The prebuilt files when the package carries them, else built from the sources. */
export async function loadWebAssets(sourceDirectory = WEB_SOURCE_DIRECTORY): Promise<BuiltAssets> {
  return readPrebuiltWebAssets() ?? buildWebAssets(sourceDirectory);
}

export async function buildWebAssets(sourceDirectory = WEB_SOURCE_DIRECTORY): Promise<BuiltAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: Object.values(ENTRY_POINTS).map((entry) => ({
      in: `${sourceDirectory}${entry.file}`,
      out: entry.out,
    })),
    outdir: '/tollgate-web',
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2019', 'chrome80', 'firefox78', 'safari13'],
    platform: 'browser',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const built = {} as BuiltAssets;
  for (const [name, entry] of Object.entries(ENTRY_POINTS) as [
    AssetName,
    (typeof ENTRY_POINTS)[AssetName],
  ][]) {
    const extension = name.endsWith('.css') ? '.css' : '.js';
    const output = result.outputFiles.find((file) => file.path.endsWith(`/${entry.out}${extension}`));
    if (!output) throw new Error(`esbuild produced no ${name}`);
    built[name] = { name, contentType: entry.contentType, ...describeAsset(Buffer.from(output.contents)) };
  }
  return built;
}

/** Loads (or builds) once, on first use; a failure is retried on the next request. */
export class WebAssets {
  private pending: Promise<BuiltAssets> | null = null;

  constructor(
    private readonly log: (message: string, details?: Record<string, unknown>) => void = () => {},
    private readonly sourceDirectory = WEB_SOURCE_DIRECTORY,
  ) {}

  get(): Promise<BuiltAssets> {
    this.pending ??= loadWebAssets(this.sourceDirectory).then(
      (assets) => {
        for (const asset of Object.values(assets)) {
          this.log(`loaded ${asset.name}: ${asset.body.length} bytes, ${asset.gzip.length} bytes gzipped`, {
            asset: asset.name,
            bytes: asset.body.length,
            gzip_bytes: asset.gzip.length,
          });
        }
        return assets;
      },
      (error: unknown) => {
        this.pending = null;
        throw error;
      },
    );
    return this.pending;
  }
}

/** Whether an Accept-Encoding header admits gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const quality = parameters
      .map((parameter) => parameter.trim())
      .find((parameter) => parameter.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  }
  return false;
}
