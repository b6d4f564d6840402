// The bare-node program (bare-node.ts): PORT (0 for any), ORIGIN_URL. Reports { type: 'ready', port }
// over IPC when forked, as the lab's services do; SIGTERM or SIGINT closes it.
import type { AddressInfo } from 'node:net';
import { startBareNode } from './bare-node.ts';

function fail(message: string): never {
  console.error(`bare-node: ${message}`);
  process.exit(2);
}

const port = Number(process.env.PORT ?? '0');
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, got "${process.env.PORT}"`);
const originUrl = process.env.ORIGIN_URL ?? fail('ORIGIN_URL is required');
if (!URL.canParse(originUrl)) fail(`ORIGIN_URL is not a URL: "${originUrl}"`);
const server = await startBareNode(port, originUrl);
process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
