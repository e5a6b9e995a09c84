/**
 * What forwarding a passed-through body costs the gateway, in one process, same run: re-serialising the
 * parsed body (JSON.stringify, then UTF-8 bytes) against splicing the client's bytes (formats/raw-json.ts),
 * and, for scale, reading it: whole (toString + JSON.parse) and as the gateway reads chat and messages
 * bodies, with long text cut out (formats/elided-json.ts). CPU µs per body from process.cpuUsage over 300
 * rounds.
 *   node bench/gateway/large-targets.mjs /tmp/gw-bench/run
 *   node --import tsx bench/gateway/forward-cost.ts /tmp/gw-bench/run/targets-120k.json /tmp/gw-bench/run/targets-400k.json
 */
import { readFileSync } from 'node:fs';
import { readJsonBody } from '../../packages/server/src/gateway/formats/elided-json.ts';
import { withOutputLimit } from '../../packages/server/src/gateway/formats/output-limits.ts';
import { openAiPassthroughRequest } from '../../packages/server/src/gateway/formats/passthrough.ts';
import {
  checkedMemberCount,
  scanObject,
  spliceMembers,
} from '../../packages/server/src/gateway/formats/raw-json.ts';
import type { OpenAiChatRequest } from '../../packages/server/src/gateway/formats/wire-types.ts';

function cpuMicrosPerRound(run: () => unknown): number {
  for (let round = 0; round < 30; round += 1) run();
  const rounds = 300;
  const started = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1) run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / rounds;
}

for (const file of process.argv.slice(2)) {
  const target = (JSON.parse(readFileSync(file, 'utf8')) as { name: string; body: object }[]).find(
    (candidate) => candidate.name === 'tollgate',
  )!;
  const raw = Buffer.from(JSON.stringify({ ...target.body, stream: false }));
  const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  const members = checkedMemberCount(body);
  const forwarded = () =>
    openAiPassthroughRequest(
      withOutputLimit('openai', body, 64) as unknown as OpenAiChatRequest,
      'gpt-4o-mini',
    ) as unknown as Record<string, unknown>;
  const serialised = cpuMicrosPerRound(() => Buffer.from(JSON.stringify(forwarded())));
  const spliced = cpuMicrosPerRound(() => spliceMembers(raw, scanObject(raw)!, members, body, forwarded()));
  const read = cpuMicrosPerRound(() => JSON.parse(raw.toString('utf8')));
  const readCut = cpuMicrosPerRound(() => readJsonBody(raw));
  process.stdout.write(
    `${raw.length} bytes: re-serialise ${serialised.toFixed(0)} µs, splice ${spliced.toFixed(0)} µs (reading it: whole ${read.toFixed(0)} µs, long text cut out ${readCut.toFixed(0)} µs)\n`,
  );
}
