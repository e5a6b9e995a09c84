/**
 * `npm run build:web`: builds the browser code the way the server does on first request, writes it to
 * dist/web/ (for a CDN or a look at the output) and prints each file's size, raw and gzipped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWebAssets } from './assets.ts';

const outputDirectory = join(process.cwd(), 'dist', 'web');
const assets = await buildWebAssets();
mkdirSync(outputDirectory, { recursive: true });
for (const asset of Object.values(assets)) {
  writeFileSync(join(outputDirectory, asset.name), asset.body);
  process.stdout.write(
    `${asset.name.padEnd(12)} ${String(asset.body.length).padStart(7)} bytes  ${String(asset.gzip.length).padStart(6)} bytes gzipped\n`,
  );
}
process.stdout.write(`written to ${outputDirectory}\n`);
