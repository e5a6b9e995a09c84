#!/usr/bin/env node
/**
 * The gateway benchmark's driver: for each mode (non-stream, stream), each repetition and each target
 * in turn, `--connections` concurrent clients send requests for `--duration` seconds over keep-alive
 * connections (undici), each waiting for the whole answer (for a stream, its last byte). Reports
 * req/s, p50/p99 latency, the p50 of the time to the answer's first byte (a stream's first event),
 * failures, the CPU the target's process used per request (from /proc,
 * through its pid file), how busy the whole machine was (every core, /proc/stat: 100 % means the
 * machine, not the target, set the pace) and the driver's own CPU per request, with medians over the
 * repetitions; writes results.json and summary.md.
 *
 *   node bench/gateway/load.mjs --targets bench/gateway/targets.json [--connections 50] [--duration 15]
 *        [--reps 2] [--warmup 2] [--modes nonstream,stream] [--out DIR]
 *
 * Targets: [{ name, url, headers?, body?, pidFile? }]; `${VAR}` in url, headers and pidFile comes from
 * the environment. The default body is a short OpenAI chat request. The driver runs on the same
 * machine: it takes CPU from what it measures (reported, not subtracted).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  strict: false,
  options: {
    targets: { type: 'string', default: new URL('./targets.json', import.meta.url).pathname },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '15' },
    reps: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'nonstream,stream' },
    out: { type: 'string' },
  },
});
const connections = Number(values.connections);
const durationSeconds = Number(values.duration);
const reps = Number(values.reps);
const warmupSeconds = Number(values.warmup);
const modes = String(values.modes).split(',');
const expand = (text) => text.replace(/\$\{(\w+)\}/g, (_, name) => process.env[name] ?? '');
const DEFAULT_BODY = {
  model: 'gpt-4o-mini',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'You are a benchmark. Reply with twenty tokens.' }],
};

const targets = JSON.parse(readFileSync(values.targets, 'utf8')).map((target) => ({
  ...target,
  url: new URL(expand(target.url)),
  // Per client: a variable of several lines (several customers' keys) gives each client one line in turn.
  headersFor: (client) =>
    Object.fromEntries(
      Object.entries(target.headers ?? {})
        .map(([name, value]) => [
          name,
          String(value).replace(/\$\{(\w+)\}/g, (_, variable) => {
            const lines = (process.env[variable] ?? '').split('\n').filter(Boolean);
            return lines.length === 0 ? '' : lines[client % lines.length];
          }),
        ])
        .filter(([, value]) => value !== '' && !value.endsWith(' ')),
    ),
  pidFile: target.pidFile ? expand(target.pidFile) : undefined,
}));

/** CPU seconds of a process and its descendants (a supervisor and its workers), from /proc. */
function cpuSecondsOfTree(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  let seconds = (Number(fields[11]) + Number(fields[12])) / 100;
  let children = '';
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    // no children file: the process alone
  }
  for (const child of children.split(' ').filter(Boolean)) {
    try {
      seconds += cpuSecondsOfTree(child);
    } catch {
      // a child that exited in between
    }
  }
  return seconds;
}

function cpuSecondsOf(pidFile) {
  if (!pidFile) return undefined;
  try {
    return cpuSecondsOfTree(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine (every core), from /proc/stat. */
function machineJiffies() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const numbers = fields.map(Number);
  const idle = numbers[3] + numbers[4]; // idle + iowait
  const total = numbers.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

function percentile(sorted, fraction) {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

async function load(target, mode, seconds) {
  const pool = new Pool(target.url.origin, { connections, pipelining: 1 });
  const body = JSON.stringify({ ...(target.body ?? DEFAULT_BODY), stream: mode === 'stream' });
  const headersFor = (client) => ({ 'content-type': 'application/json', ...target.headersFor(client) });
  const latencies = [];
  const firstBytes = [];
  let failures = 0;
  const cpuBefore = cpuSecondsOf(target.pidFile);
  const machineBefore = machineJiffies();
  const driverBefore = process.cpuUsage();
  const started = performance.now();
  const endAt = started + seconds * 1000;
  async function client(index) {
    const headers = headersFor(index);
    while (performance.now() < endAt) {
      const sent = performance.now();
      try {
        const response = await pool.request({
          method: 'POST',
          path: target.url.pathname + target.url.search,
          headers,
          body,
        });
        // The first byte of the body: for a stream, what a user waits for before text appears.
        let firstByte;
        const chunks = [];
        for await (const chunk of response.body) {
          firstByte ??= performance.now();
          chunks.push(chunk);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        const ok =
          response.statusCode === 200 &&
          (mode !== 'stream' || text.includes('[DONE]') || text.includes('message_stop'));
        if (ok) {
          latencies.push(performance.now() - sent);
          firstBytes.push((firstByte ?? performance.now()) - sent);
        } else failures += 1;
      } catch {
        failures += 1;
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, (_, index) => client(index)));
  const elapsedSeconds = (performance.now() - started) / 1000;
  const cpuAfter = cpuSecondsOf(target.pidFile);
  const machineAfter = machineJiffies();
  const driver = process.cpuUsage(driverBefore);
  await pool.close();
  latencies.sort((a, b) => a - b);
  firstBytes.sort((a, b) => a - b);
  const requests = latencies.length;
  return {
    rps: requests / elapsedSeconds,
    p50: percentile(latencies, 0.5),
    firstByteP50: percentile(firstBytes, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
    cpuMicrosPerRequest:
      cpuBefore === undefined || cpuAfter === undefined || requests === 0
        ? undefined
        : ((cpuAfter - cpuBefore) * 1e6) / requests,
    // Whether the machine, not the target, set the pace: every core's busy share, and this driver's.
    machineBusyPercent:
      (100 * (machineAfter.busy - machineBefore.busy)) /
      Math.max(1, machineAfter.total - machineBefore.total),
    driverCpuMicrosPerRequest: requests === 0 ? undefined : (driver.user + driver.system) / requests,
  };
}

const median = (numbers) => {
  const present = numbers
    .filter((number) => number !== undefined && !Number.isNaN(number))
    .sort((a, b) => a - b);
  return present.length ? present[Math.floor(present.length / 2)] : undefined;
};

const results = [];
for (const mode of modes) {
  const runs = new Map(targets.map((target) => [target.name, []]));
  for (let rep = 0; rep < reps; rep += 1) {
    for (const target of targets) {
      if (warmupSeconds > 0) await load(target, mode, warmupSeconds);
      const run = await load(target, mode, durationSeconds);
      runs.get(target.name).push(run);
      process.stderr.write(
        `${mode} rep ${rep + 1} ${target.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, failures ${run.failures}\n`,
      );
    }
  }
  for (const target of targets) {
    const samples = runs.get(target.name);
    results.push({
      mode,
      target: target.name,
      connections,
      rps: median(samples.map((sample) => sample.rps)),
      p50_ms: median(samples.map((sample) => sample.p50)),
      first_byte_p50_ms: median(samples.map((sample) => sample.firstByteP50)),
      p99_ms: median(samples.map((sample) => sample.p99)),
      failures: samples.reduce((sum, sample) => sum + sample.failures, 0),
      cpu_us_per_request: median(samples.map((sample) => sample.cpuMicrosPerRequest)),
      machine_busy_percent: median(samples.map((sample) => sample.machineBusyPercent)),
      driver_cpu_us_per_request: median(samples.map((sample) => sample.driverCpuMicrosPerRequest)),
    });
  }
}

const format = (number, digits = 0) => (number === undefined ? '–' : number.toFixed(digits));
const lines = [
  `c=${connections}, ${durationSeconds} s per run, medians of ${reps}`,
  '',
  '| mode | target | req/s | p50 ms | p99 ms | first byte p50 ms | failures | target CPU µs/request | machine busy % | driver CPU µs/request |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (row) =>
      `| ${row.mode} | ${row.target} | ${format(row.rps)} | ${format(row.p50_ms, 2)} | ${format(row.p99_ms, 2)} | ${format(row.first_byte_p50_ms, 2)} | ${row.failures} | ${format(row.cpu_us_per_request)} | ${format(row.machine_busy_percent)} | ${format(row.driver_cpu_us_per_request)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (values.out) {
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(values.out, 'summary.md'), `${lines.join('\n')}\n`);
}
