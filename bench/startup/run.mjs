#!/usr/bin/env node
/**
 * Start time and memory of `tollgate serve` on the embedded database: a first start on a fresh data
 * folder, then restarts on the same folder, and `tollgate --help`. For each start it records the wall
 * time until /healthz answers, the CPU time the process used until then (user + system, which a busy
 * machine inflates far less than the wall time), and the resident memory once idle.
 *
 *   node bench/startup/run.mjs [--bin packages/server/bin/tollgate.mjs] [--runs 3] [--idle-ms 5000]
 *                              [--port 18787] [--json]
 *
 * The server runs with its own environment minus DATABASE_URL (so PGlite), in a temporary folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', default: 'packages/server/bin/tollgate.mjs' },
    runs: { type: 'string', default: '3' },
    'idle-ms': { type: 'string', default: '5000' },
    port: { type: 'string', default: '18787' },
    json: { type: 'boolean', default: false },
  },
});
const bin = resolve(values.bin);
const runs = Number(values.runs);
const idleMs = Number(values['idle-ms']);
const port = Number(values.port);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process and its reaped children used so far, from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // After the command name: utime is field 14, stime 15, cutime 16, cstime 17 (1-based, of the whole line).
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (utime + stime + cutime + cstime) / TICKS_PER_SECOND;
}

function residentMegabytes(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('VmRSS:'));
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

async function healthy() {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  } catch {
    return false;
  }
}

async function startOnce(dataDir) {
  const env = { ...process.env, TOLLGATE_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (!(await healthy())) {
    if (exited) throw new Error(`the server exited before answering:\n${stderr}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  const readySeconds = (performance.now() - started) / 1000;
  const cpuAtReady = cpuSeconds(child.pid);
  await new Promise((resolveWait) => setTimeout(resolveWait, idleMs));
  const rssMegabytes = residentMegabytes(child.pid);
  const stopped = new Promise((resolveStop) => child.once('exit', resolveStop));
  child.kill('SIGTERM');
  await stopped;
  return { readySeconds, cpuSeconds: cpuAtReady, rssMegabytes };
}

function helpOnce() {
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`--help failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

const median = (numbers) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

const first = [];
const restart = [];
for (let run = 0; run < runs; run += 1) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-startup-'));
  try {
    first.push(await startOnce(dataDir));
    restart.push(await startOnce(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const help = Array.from({ length: runs }, helpOnce);

const summary = (samples) => ({
  ready_s: Number(median(samples.map((sample) => sample.readySeconds)).toFixed(2)),
  cpu_s: Number(median(samples.map((sample) => sample.cpuSeconds)).toFixed(2)),
  idle_rss_mb: median(samples.map((sample) => sample.rssMegabytes)),
});
const result = {
  bin,
  runs,
  first_start: summary(first),
  restart: summary(restart),
  help_s: Number(median(help).toFixed(2)),
  load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  process.stdout.write(`${bin} (medians of ${runs}; load average ${result.load_average})\n`);
  process.stdout.write('                 ready (wall)   CPU until ready   idle RSS\n');
  for (const [label, row] of [
    ['first start', result.first_start],
    ['restart', result.restart],
  ]) {
    process.stdout.write(
      `${label.padEnd(16)} ${`${row.ready_s} s`.padStart(12)} ${`${row.cpu_s} s`.padStart(17)} ${`${row.idle_rss_mb} MB`.padStart(10)}\n`,
    );
  }
  process.stdout.write(`tollgate --help   ${result.help_s} s\n`);
}
