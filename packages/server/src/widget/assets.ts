/**
 * The browser code, built from packages/web/src by esbuild when first asked for (not at start, so a
 * server that never serves the widget never pays for it) and kept in memory with its gzip form:
 * `sdk.js` (the host page's `window.Tollgate`), `widget.js` and `widget.css` (the widget page).
 */
import { createHash } from 'node:crypto';
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
    const body = Buffer.from(output.contents);
    built[name] = {
      name,
      contentType: entry.contentType,
      body,
      gzip: gzipSync(body, { level: 9 }),
      hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
    };
  }
  return built;
}

/** Builds once, on first use; a failed build is retried on the next request. */
export class WebAssets {
  private pending: Promise<BuiltAssets> | null = null;

  constructor(
    private readonly log: (message: string, details?: Record<string, unknown>) => void = () => {},
    private readonly sourceDirectory = WEB_SOURCE_DIRECTORY,
  ) {}

  get(): Promise<BuiltAssets> {
    this.pending ??= buildWebAssets(this.sourceDirectory).then(
      (assets) => {
        for (const asset of Object.values(assets)) {
          this.log(`built ${asset.name}: ${asset.body.length} bytes, ${asset.gzip.length} bytes gzipped`, {
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
