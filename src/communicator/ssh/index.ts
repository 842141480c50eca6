/**
 * Public entry of the SSH communicator: `connectSsh(options)` opens and authenticates a connection
 * (direct, via bastion, or via SOCKS5), starts the configured tunnels, and returns a Communicator.
 * One attempt only; the waiting/retrying loop lives in ../step-connect.ts.
 */
import { SshCommunicator } from './communicator.js';
import { openSshConnection, type SshConnection } from './connect.js';
import type { SshConnectOptions } from './options.js';
import { startTunnels } from './tunnels.js';

export type { SshConnectOptions, SshBastionOptions, SshProxyOptions, SshTunnel } from './options.js';
export { SshCommunicator } from './communicator.js';

/** Connects once; rejects with the attempt's error (dial, handshake, authentication). */
export async function connectSsh(opts: SshConnectOptions): Promise<SshCommunicator> {
  const open = async (): Promise<SshConnection> => {
    const conn = await openSshConnection(opts);
    const stopTunnels = await startTunnels(conn.client, opts.localTunnels ?? [], opts.remoteTunnels ?? []);
    return {
      client: conn.client,
      close() {
        stopTunnels();
        conn.close();
      },
    };
  };
  return new SshCommunicator(await open(), opts, open);
}
