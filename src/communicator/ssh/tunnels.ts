/**
 * ssh_local_tunnels / ssh_remote_tunnels (spec §7.5): a local listener on localhost:<port> whose
 * connections are forwarded through SSH to <host>:<hostPort> on the remote side, and a remote
 * listener (tcpip-forward) on the remote localhost:<port> forwarded to the local <host>:<hostPort>.
 * Both live as long as the connection.
 */
import { connect as netConnect, createServer, type Server } from 'node:net';
import type { Client } from 'ssh2';
import type { SshTunnel } from './options.js';

/** Starts the tunnels; the returned function stops the local listeners. */
export async function startTunnels(
  client: Client,
  local: SshTunnel[],
  remote: SshTunnel[],
): Promise<() => void> {
  const servers: Server[] = [];
  for (const t of local) {
    const srv = createServer((sock) => {
      client.forwardOut('127.0.0.1', 0, t.host, t.hostPort, (err, stream) => {
        if (err) {
          sock.destroy();
          return;
        }
        sock.pipe(stream).pipe(sock);
        sock.on('error', () => stream.close());
        stream.on('error', () => sock.destroy());
      });
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(t.port, 'localhost', () => resolve());
    });
    servers.push(srv);
  }
  if (remote.length) {
    client.on('tcp connection', (info, accept, reject) => {
      const t = remote.find((r) => r.port === info.destPort);
      if (!t) return reject();
      const sock = netConnect({ host: t.host, port: t.hostPort });
      sock.once('connect', () => {
        const stream = accept();
        sock.pipe(stream).pipe(sock);
        stream.on('error', () => sock.destroy());
      });
      sock.once('error', () => reject());
    });
    for (const t of remote) {
      await new Promise<void>((resolve, reject) =>
        client.forwardIn('localhost', t.port, (err) => (err ? reject(err) : resolve())),
      );
    }
  }
  return () => {
    for (const s of servers) s.close();
  };
}
