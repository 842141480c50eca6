/**
 * The proxy alone in a process of its own, for tests that measure it (peak RSS from
 * /proc/<pid>/status): connects kiln's SSH communicator to the target given as JSON in argv[2]
 * ({ host, port, user, keyFile, proxyUser, hostKey, authorizedKey }), starts the proxy, prints
 * `{"port":N}` and serves until its stdin ends.
 */
import { readFile } from 'node:fs/promises';
import { connectSsh } from '../../src/communicator/ssh/index.js';
import { startAdapter } from '../../src/adapter/index.js';
import type { Ui } from '../../src/ui/ui.js';

interface ChildConfig {
  host: string;
  port: number;
  user: string;
  keyFile: string;
  proxyUser: string;
  hostKey: string;
  authorizedKey: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const errors: string[] = [];
const ui: Ui = {
  say: () => undefined,
  message: () => undefined,
  error: (m: string) => errors.push(m),
  machine: () => undefined,
  ask: () => Promise.reject(new Error('no tty')),
};
const comm = await connectSsh({
  host: cfg.host,
  port: cfg.port,
  username: cfg.user,
  privateKeys: [await readFile(cfg.keyFile)],
});
const adapter = await startAdapter({
  comm,
  ui,
  user: cfg.proxyUser,
  hostKey: cfg.hostKey,
  authorizedKey: cfg.authorizedKey,
});
process.stdout.write(`${JSON.stringify({ port: adapter.port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void adapter
    .close()
    .then(() => comm.close())
    .then(() => {
      process.stderr.write(errors.join('\n'));
      process.exit(0);
    });
});
