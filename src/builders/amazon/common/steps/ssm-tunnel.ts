/**
 * StepCreateSSMTunnel (spec §B.10): with `ssh_interface: "session_manager"`, the SSH connection goes
 * through an AWS Session Manager tunnel instead of the network: after an optional
 * `pause_before_ssm`, a local port is chosen (`session_manager_port`, else a free one in 8000–9000),
 * a port-forwarding session to the instance's ssh_port is started and AWS's session-manager-plugin
 * listens on that port (../ssm.ts). StepConnect then dials localhost:<that port> (§B.11). Cleanup
 * stops the plugin and terminates the session.
 */
import { createServer } from 'node:net';
import type { Step } from '../../../../core/runner/step.js';
import { formatGoDuration } from '../../../../util/go-duration.js';
import { SsmStartError, SsmTunnel, type Ssm } from '../ssm.js';
import { addLeftover, dropLeftover, type AmazonConfig, type AmazonState } from '../state.js';
import { sleep } from '../waiters.js';

/** What the tunnel adds to the build state. */
export interface SsmState {
  /** The local end of the tunnel, the port StepConnect dials (Packer's `sessionPort`). */
  sessionPort?: number;
  ssmTunnel?: SsmTunnel;
}

export interface SsmStepOptions {
  /** The build's SSM client, created on first use. */
  ssm: () => Promise<Ssm>;
  /** How long the first session may wait for the instance's agent (ssh_timeout). */
  connectTimeoutMs: number;
}

/** Packer's SSMAgentEnabled: session_manager with an instance profile (given or temporary). */
export function ssmEnabled(c: AmazonConfig): boolean {
  return (
    c.ssh_interface === 'session_manager' &&
    (c.iam_instance_profile !== '' || Boolean(c.temporary_iam_instance_profile_policy_document))
  );
}

/** Resolves when `port` could be bound on 0.0.0.0 (and is released again), rejects otherwise. */
function tryPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => {
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The tunnel's local port: the configured one, else a free one in 8000–9000 (tried from a random
 * start, as 1.6.6 picked random ports there, so that parallel builds rarely collide). The port is
 * released again for the plugin to listen on.
 */
export async function pickLocalPort(configured: number): Promise<number> {
  if (configured !== 0) return tryPort(configured);
  const min = 8000;
  const span = 1001;
  const start = Math.floor(Math.random() * span);
  let last: unknown;
  for (let i = 0; i < span; i++) {
    try {
      return await tryPort(min + ((start + i) % span));
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error('no free port in 8000-9000');
}

export function stepCreateSsmTunnel<S extends AmazonState & SsmState>(o: SsmStepOptions): Step<S> {
  return {
    name: 'StepCreateSSMTunnel',
    async run(state, { ui, signal }) {
      const c = state.config;
      if (!ssmEnabled(c)) return 'continue';
      if (c.pause_before_ssm_ms > 0) {
        ui.say(`Waiting ${formatGoDuration(c.pause_before_ssm_ms)} before establishing the SSM session...`); // parity:
        try {
          await sleep(c.pause_before_ssm_ms, signal);
        } catch {
          return 'halt';
        }
      }
      // -on-error=ask "retry": the earlier attempt's tunnel goes first.
      await state.ssmTunnel?.stop();
      let port: number;
      try {
        port = await pickLocalPort(c.session_manager_port);
      } catch (err) {
        throw new Error(
          `error finding an available port to initiate a session tunnel: ${(err as Error).message}`,
        ); // parity:
      }
      const instanceId = state.instanceId;
      if (!instanceId)
        throw new Error('error encountered in obtaining target instance id for session tunnel'); // parity:
      state.sessionPort = port;
      const region = state.ec2.region;
      const tunnel = new SsmTunnel({
        ssm: o.ssm,
        region,
        instanceId,
        remotePort: c.ssh_port,
        localPort: port,
        ui,
        onSession: (id, live) =>
          live ? addLeftover(state, { kind: 'SSM session', id, region }) : dropLeftover(state, id),
      });
      state.ssmTunnel = tunnel;
      try {
        await tunnel.open(signal, o.connectTimeoutMs);
      } catch (err) {
        if (signal.aborted && !(err instanceof SsmStartError)) return 'halt';
        throw err;
      }
      return 'continue';
    },
    async cleanup(state) {
      const tunnel = state.ssmTunnel;
      if (!tunnel) return;
      state.ssmTunnel = undefined;
      await tunnel.stop();
    },
  };
}
