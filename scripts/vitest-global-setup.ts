/**
 * Tests run the `tollgate` command as users do (`bin/tollgate.mjs` → dist/): build the server first,
 * so that they always run the current sources (without declarations; the baseline only when stale).
 * Tests import @tollgate/client from its sources (vitest.config.ts), so it needs no build.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup() {
  const script = fileURLToPath(new URL('./build.ts', import.meta.url));
  execFileSync(process.execPath, ['--import', 'tsx', script, 'server', '--no-types'], { stdio: 'pipe' });
}
