/**
 * A TCP proxy that a test can freeze: while paused it keeps every connection open and accepts new ones
 * but forwards nothing in either direction — what a client sees of a database or Redis that hangs, or
 * of a network that silently drops packets. On resume, what was held back is delivered late (as TCP
 * would), so a write the server got before the freeze still happens.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stops forwarding both ways, now. */
  pause(): void;
  /** Delivers what was held back and forwards again. */
  resume(): void;
  /**
   * Pauses as soon as a client sends bytes containing `marker` — after forwarding them, so the server
   * acts on them but its answer never arrives. Resolves when it has tripped.
   */
  pauseAfterSending(marker: string): Promise<void>;
  /**
   * Pauses as soon as a client sends bytes containing `marker` — holding them back, so the server never
   * gets them unless the proxy resumes (`close` drops them). Resolves when it has tripped.
   */
  pauseBeforeSending(marker: string): Promise<void>;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  server: Socket;
  toServer: Buffer[];
  toClient: Buffer[];
  clientEnded: boolean;
  serverEnded: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let paused = false;
  const pipes = new Set<Pipe>();
  let tripwire: { marker: string; forward: boolean; tripped: () => void } | null = null;

  const flush = (pipe: Pipe) => {
    for (const chunk of pipe.toServer.splice(0)) if (!pipe.server.destroyed) pipe.server.write(chunk);
    for (const chunk of pipe.toClient.splice(0)) if (!pipe.client.destroyed) pipe.client.write(chunk);
    if (pipe.clientEnded) pipe.server.end();
    if (pipe.serverEnded) pipe.client.end();
  };

  const listener = createServer((client) => {
    const server = connect(target.port, target.host);
    const pipe: Pipe = { client, server, toServer: [], toClient: [], clientEnded: false, serverEnded: false };
    pipes.add(pipe);
    const drop = () => {
      pipes.delete(pipe);
      client.destroy();
      server.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (paused) {
        pipe.toServer.push(chunk);
        return;
      }
      const tripped = tripwire && chunk.includes(tripwire.marker) ? tripwire : null;
      if (tripped) {
        tripwire = null;
        paused = true;
        if (!tripped.forward) pipe.toServer.push(chunk);
      }
      if (!tripped || tripped.forward) server.write(chunk);
      tripped?.tripped();
    });
    server.on('data', (chunk: Buffer) => {
      if (paused) pipe.toClient.push(chunk);
      else client.write(chunk);
    });
    // A side that goes away while paused is passed on after what it sent, on resume.
    const clientGone = () => {
      pipe.clientEnded = true;
      if (!paused) server.end();
    };
    const serverGone = () => {
      pipe.serverEnded = true;
      if (!paused) client.end();
    };
    client.on('end', clientGone);
    client.on('close', clientGone);
    server.on('end', serverGone);
    server.on('close', () => {
      serverGone();
      if (!paused) drop();
    });
    client.on('error', () => clientGone());
    server.on('error', drop);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  if (!address || typeof address === 'string') throw new Error('proxy did not bind');

  return {
    port: address.port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const pipe of pipes) flush(pipe);
    },
    pauseAfterSending(marker) {
      return new Promise<void>((resolve) => {
        tripwire = { marker, forward: true, tripped: resolve };
      });
    },
    pauseBeforeSending(marker) {
      return new Promise<void>((resolve) => {
        tripwire = { marker, forward: false, tripped: resolve };
      });
    },
    async close() {
      for (const pipe of pipes) {
        pipe.client.destroy();
        pipe.server.destroy();
      }
      pipes.clear();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound once by us, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  if (!address || typeof address === 'string') throw new Error('probe did not bind');
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address.port;
}
