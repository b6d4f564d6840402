// Raw HTTP/1.1 on a socket, for tests that must send what a client library would refuse or
// normalise (smuggling shapes, absolute-form targets, duplicate Host): the services' tests share it.
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
