// Raw HTTP/1.1 on a socket, for tests that must send what a client library would refuse or
// normalise (smuggling shapes, absolute-form targets, duplicate Host): the services' tests share it.
import type { Server } from 'node:http';
import net from 'node:net';

/**
 * Sends raw bytes on a fresh loopback connection; resolves with everything the server wrote once the
 * connection closes, or, with `maxMs`, once that long has passed (for answers that keep it open).
 */
export function rawExchange(port: number, text: string, options: { maxMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    if (options.maxMs !== undefined) {
      setTimeout(() => {
        socket.destroy();
        resolve(out);
      }, options.maxMs).unref();
    }
  });
}

/** The status code of the first response in a raw answer (NaN when there is none). */
export const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

/** Resolves once `server` counts exactly `count` open connections (polled; fails after 20 s). */
export async function waitForConnections(server: Server, count: number): Promise<void> {
  const current = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  for (let i = 0; i < 2000; i++) {
    if ((await current()) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the server still has ${await current()} connections, not ${count}, after 20 s`);
}
