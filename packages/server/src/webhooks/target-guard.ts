/**
 * Where a webhook may go. An endpoint URL is chosen by an app, so without a guard the server would
 * post to its own network for anyone with an app key (SSRF): loopback, private, link-local (cloud
 * metadata), CGNAT and unique-local addresses are refused unless private targets are allowed. The
 * check runs when the URL is registered (literal addresses, `localhost`) and again on every
 * connection, on the addresses DNS gave (a name may point anywhere, and change).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, 'ipv4');
  if (family === 6) return PRIVATE.check(bare, 'ipv6');
  return false;
}

/** A host that is private by its name alone (a literal private address, `localhost`). */
export function isPrivateHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || isPrivateAddress(bare);
}

export class PrivateTargetError extends Error {
  readonly code = 'private_target';
  constructor(host: string, address: string) {
    super(`refused: ${host} resolves to ${address}, a private address (TOLLGATE_WEBHOOK_PRIVATE_TARGETS)`);
  }
}

/** A `lookup` for http.request that refuses private addresses when they are not allowed. */
export function guardedLookup(allowPrivate: () => boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...result: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error);
      const refused = allowPrivate() ? undefined : addresses.find((entry) => isPrivateAddress(entry.address));
      if (refused) return callback(new PrivateTargetError(hostname, refused.address));
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      return callback(null, first!.address, first!.family);
    });
  }) as unknown as LookupFunction;
}
