/**
 * The dashboard's browser code, bundled by esbuild from `packages/web/src/dashboard/` on first use
 * and kept in memory with its gzip (served as-is to browsers that accept it) and a content hash (the
 * pages reference `?v=<hash>`, so the scripts can be cached for good).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const DASHBOARD_SOURCE_DIR = fileURLToPath(new URL('../../../web/src/dashboard/', import.meta.url));

/** Bundle name → entry file in the source folder. */
export const DASHBOARD_ENTRIES = {
  dashboard: 'dashboard.ts',
  partner: 'partner.ts',
  'billing-gate': 'billing-gate-embed.ts',
} as const;

export type BundleName = keyof typeof DASHBOARD_ENTRIES;

export interface Bundle {
  name: BundleName;
  code: Buffer;
  gzip: Buffer;
  hash: string;
}

export class DashboardAssets {
  private building: Promise<Map<BundleName, Bundle>> | null = null;

  constructor(private readonly sourceDir: string = DASHBOARD_SOURCE_DIR) {}

  /** Builds every bundle once; a failed build is retried on the next request. */
  all(): Promise<Map<BundleName, Bundle>> {
    this.building ??= this.build().catch((error) => {
      this.building = null;
      throw error;
    });
    return this.building;
  }

  async get(name: BundleName): Promise<Bundle> {
    return (await this.all()).get(name)!;
  }

  private async build(): Promise<Map<BundleName, Bundle>> {
    const { build } = await import('esbuild');
    const result = await build({
      absWorkingDir: this.sourceDir,
      entryPoints: Object.fromEntries(
        Object.entries(DASHBOARD_ENTRIES).map(([name, file]) => [name, `./${file}`]),
      ),
      outdir: 'out',
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      write: false,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const bundles = new Map<BundleName, Bundle>();
    for (const file of result.outputFiles) {
      const name = file.path.replace(/\\/g, '/').split('/').pop()!.replace(/\.js$/, '') as BundleName;
      const code = Buffer.from(file.contents);
      bundles.set(name, {
        name,
        code,
        gzip: gzipSync(code, { level: 9 }),
        hash: createHash('sha256').update(code).digest('hex').slice(0, 16),
      });
    }
    return bundles;
  }
}
