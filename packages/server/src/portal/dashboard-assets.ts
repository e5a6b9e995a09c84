/**
 * The dashboard's browser code, loaded on first use and kept in memory with its gzip (served as-is to
 * browsers that accept it) and a content hash (the pages reference `?v=<hash>`, so the scripts can be
 * cached for good). The built package carries the bundles prebuilt (`dist/web/`); run from the
 * sources, esbuild bundles them from `packages/web/src/dashboard/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAsset, PREBUILT_WEB_DIRECTORY } from '../widget/assets.ts';

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

  constructor(
    private readonly sourceDir: string = DASHBOARD_SOURCE_DIR,
    private readonly prebuiltDir: string = PREBUILT_WEB_DIRECTORY,
  ) {}

  /** Loads (or builds) every bundle once; a failure is retried on the next request. */
  all(): Promise<Map<BundleName, Bundle>> {
    this.building ??= (async () => this.readPrebuilt() ?? this.build())().catch((error) => {
      this.building = null;
      throw error;
    });
    return this.building;
  }

  async get(name: BundleName): Promise<Bundle> {
    return (await this.all()).get(name)!;
  }

  private readPrebuilt(): Map<BundleName, Bundle> | null {
    const names = Object.keys(DASHBOARD_ENTRIES) as BundleName[];
    const files = names.map((name) => join(this.prebuiltDir, `${name}.js`));
    if (!files.every((file) => existsSync(file))) return null;
    return new Map(names.map((name, index) => [name, this.bundleOf(name, readFileSync(files[index]!))]));
  }

  private bundleOf(name: BundleName, code: Buffer): Bundle {
    const { body, gzip, hash } = describeAsset(code);
    return { name, code: body, gzip, hash };
  }

  /** Bundles every entry from the sources with esbuild (also what the package build writes to dist/web/). */
  async build(): Promise<Map<BundleName, Bundle>> {
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
      bundles.set(name, this.bundleOf(name, Buffer.from(file.contents)));
    }
    return bundles;
  }
}
