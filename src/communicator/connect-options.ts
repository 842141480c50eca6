/**
 * From decoded communicator options (src/communicator/config.ts) to the SSH connect options of the
 * connect step. Shared by every builder; key files are read here, at run time only.
 */
import { readFileSync } from 'node:fs';
import { expandUser, parseTunnelArgument, type CommunicatorConfig } from './config.js';
import type { SshConnectOptions, SshTunnel } from './ssh/options.js';

function tunnels(list: string[]): SshTunnel[] {
  return list.map((v) => {
    const t = parseTunnelArgument(v);
    return { port: t.listenPort, host: t.forwardHost, hostPort: t.forwardPort };
  });
}

/** SSH options of the connect step (a builder adds what it knows at run time: host, temporary key). */
export function sshOptions(c: CommunicatorConfig): SshConnectOptions {
  const keys = c.sshPrivateKeyFile !== '' ? [readFileSync(expandUser(c.sshPrivateKeyFile))] : [];
  const bastionKeyFile = c.sshBastionPrivateKeyFile || c.sshPrivateKeyFile;
  const bastionCertFile = c.sshBastionCertificateFile || c.sshCertificateFile;
  return {
    host: c.sshHost,
    port: c.sshPort,
    username: c.sshUsername,
    ...(c.sshPassword !== '' ? { password: c.sshPassword } : {}),
    privateKeys: keys,
    ...(c.sshCertificateFile !== '' ? { certificateFile: expandUser(c.sshCertificateFile) } : {}),
    agentAuth: c.sshAgentAuth,
    disableAgentForwarding: c.sshDisableAgentForwarding,
    pty: c.sshPty,
    keepAliveIntervalMs: c.sshKeepAliveInterval,
    readWriteTimeoutMs: c.sshReadWriteTimeout,
    fileTransferMethod: c.sshFileTransferMethod === 'sftp' ? 'sftp' : 'scp',
    ...(c.sshCiphers.length > 0 ? { ciphers: c.sshCiphers } : {}),
    ...(c.sshKEXAlgos.length > 0 ? { keyExchangeAlgorithms: c.sshKEXAlgos } : {}),
    ...(c.sshBastionHost !== ''
      ? {
          bastion: {
            host: c.sshBastionHost,
            port: c.sshBastionPort,
            username: c.sshBastionUsername,
            ...(c.sshBastionPassword !== '' ? { password: c.sshBastionPassword } : {}),
            ...(bastionKeyFile !== '' ? { privateKeys: [readFileSync(expandUser(bastionKeyFile))] } : {}),
            ...(bastionKeyFile !== '' && bastionCertFile !== ''
              ? { certificateFile: expandUser(bastionCertFile) }
              : {}),
            agentAuth: c.sshBastionAgentAuth,
            interactive: c.sshBastionInteractive,
          },
        }
      : {}),
    ...(c.sshProxyHost !== ''
      ? {
          proxy: {
            host: c.sshProxyHost,
            port: c.sshProxyPort,
            ...(c.sshProxyUsername !== '' ? { username: c.sshProxyUsername } : {}),
            ...(c.sshProxyPassword !== '' ? { password: c.sshProxyPassword } : {}),
          },
        }
      : {}),
    localTunnels: tunnels(c.sshLocalTunnels),
    remoteTunnels: tunnels(c.sshRemoteTunnels),
  };
}
