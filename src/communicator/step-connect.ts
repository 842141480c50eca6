/**
 * The connect step every builder uses (Packer SDK `communicator/step_connect.go` +
 * `step_connect_ssh.go`, spec §7.1 and §7.4): with `communicator: none` it stores the dummy
 * communicator; with `ssh` it says which host it connects to, then waits for SSH — one attempt at
 * once, then every 5 s; authentication failures counted against `ssh_handshake_attempts`; the whole
 * wait bounded by `ssh_timeout`; interruptible — and honours `pause_before_connecting`.
 * SSH code (ssh2) is imported only when the step runs.
 */
import type { Ui } from '../ui/ui.js';
import type { Communicator } from '../core/types.js';
import type { ConnectionInfo, ProvisionState, Step, StepContext } from '../core/runner/index.js';
import { formatGoDuration } from '../util/go-duration.js';
import { debugLog } from '../util/log.js';
import { sleep } from '../util/retry.js';
import { NoneCommunicator } from './none/index.js';
import type { SshConnectOptions } from './ssh/options.js';

/** What the connect step needs, resolved from the builder's config (and its state at run time). */
export interface ConnectStepConfig<S> {
  /** `ssh` (default when empty) or `none`. */
  type: string;
  /** The SSH options; `host` and `port` may be overridden per run by `host`/`port` below. */
  ssh?: SshConnectOptions;
  /** Host known only at run time (e.g. the instance's address); defaults to ssh.host. */
  host?: (state: S) => string;
  port?: (state: S) => number;
  /** Keys known only at run time (a builder's `privateKey`, a temporary key), added after ssh.privateKeys. */
  privateKeys?: (state: S) => (string | Buffer)[];
  /** ssh_timeout in ms (default 5 minutes). */
  timeoutMs?: number;
  /** ssh_handshake_attempts (default 10). */
  handshakeAttempts?: number;
  /** pause_before_connecting in ms. */
  pauseBeforeConnectingMs?: number;
  /** Facts that go into build data besides host/port/user/password. */
  connectionInfo?: (state: S) => Partial<ConnectionInfo>;
  /** Delay between attempts (Packer: 5 s); tests shorten it. */
  retryDelayMs?: number;
}

/** StepConnect: sets `state.communicator` (and `state.connection` unless `none`). */
export function stepConnect<S extends ProvisionState>(cfg: ConnectStepConfig<S>): Step<S> {
  return {
    name: 'StepConnect',
    async run(state, ctx) {
      const type = cfg.type || 'ssh';
      if (type === 'none') {
        state.communicator = new NoneCommunicator();
        return 'continue';
      }
      if (type !== 'ssh') {
        state.error = new Error(`Communicator type ${type} is not supported by kiln`);
        ctx.ui.error(state.error.message);
        return 'halt';
      }
      if (!cfg.ssh) throw new Error('StepConnect: ssh options missing');
      const opts: SshConnectOptions = {
        ...cfg.ssh,
        host: cfg.host ? cfg.host(state) : cfg.ssh.host,
        port: cfg.port ? cfg.port(state) : cfg.ssh.port,
        privateKeys: [...(cfg.ssh.privateKeys ?? []), ...(cfg.privateKeys?.(state) ?? [])],
      };
      if (opts.host) ctx.ui.say(`Using ssh communicator to connect: ${opts.host}`); // parity:
      const result = await connectWithPause(opts, cfg, ctx);
      if (result.kind === 'cancelled') return 'halt';
      if (result.kind === 'error') {
        state.error = result.error;
        return 'halt';
      }
      state.communicator = result.comm;
      state.connection = {
        type: 'ssh',
        host: opts.host,
        port: opts.port,
        user: opts.username,
        password: opts.password ?? '',
        sshAgentAuth: !!opts.agentAuth,
        ...(opts.bastion
          ? {
              bastion: {
                host: opts.bastion.host,
                port: opts.bastion.port,
                user: opts.bastion.username,
                // With agent auth the agent answers; a key file would make ansible's ssh skip the agent.
                privateKey: opts.bastion.agentAuth ? undefined : opts.bastion.privateKeys?.[0]?.toString(),
                agentAuth: opts.bastion.agentAuth,
              },
            }
          : {}),
        ...(cfg.connectionInfo?.(state) ?? {}),
      };
      return 'continue';
    },
    async cleanup(state: S, _ui: Ui) {
      const comm = state.communicator;
      if (comm) await comm.close().catch((e: Error) => debugLog(`closing communicator: ${e.message}`));
    },
  };
}

type WaitResult =
  { kind: 'connected'; comm: Communicator } | { kind: 'error'; error: Error } | { kind: 'cancelled' };

async function connectWithPause<S>(
  opts: SshConnectOptions,
  cfg: ConnectStepConfig<S>,
  ctx: StepContext,
): Promise<WaitResult> {
  const first = await waitForSsh(opts, cfg, ctx);
  const pause = cfg.pauseBeforeConnectingMs ?? 0;
  if (first.kind !== 'connected' || pause <= 0) return first;
  await first.comm.close();
  ctx.ui.say(`Pausing ${formatGoDuration(pause)} before connecting...`); // parity:
  if (!(await sleep(pause, ctx.signal))) return { kind: 'cancelled' };
  return waitForSsh(opts, cfg, ctx);
}

/**
 * Packer's StepConnectSSH.Run: prints the waiting/connected/timeout/error messages and returns the
 * outcome. Exported for builders with their own step shape.
 */
export async function waitForSsh<S>(
  opts: SshConnectOptions,
  cfg: Pick<ConnectStepConfig<S>, 'timeoutMs' | 'handshakeAttempts' | 'retryDelayMs'>,
  { ui, signal }: StepContext,
): Promise<WaitResult> {
  ui.say('Waiting for SSH to become available...'); // parity:
  const loop = new AbortController();
  const onAbort = () => loop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let lastError = '';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), cfg.timeoutMs ?? 5 * 60_000);
  });
  const cancelled = new Promise<'cancelled'>((resolve) => {
    if (signal.aborted) resolve('cancelled');
    loop.signal.addEventListener('abort', () => resolve('cancelled'), { once: true });
  });
  const attempts = connectLoop(opts, cfg, loop.signal, (e) => (lastError = e));
  try {
    const outcome = await Promise.race([attempts, timeout, cancelled]);
    if (outcome === 'cancelled' || signal.aborted) {
      if (typeof outcome === 'object' && outcome.comm) await outcome.comm.close();
      return { kind: 'cancelled' };
    }
    if (outcome === 'timeout') {
      const error = new Error('Timeout waiting for SSH.'); // parity:
      ui.error(error.message);
      if (lastError) ui.error(`Last attempt to connect to ${where(opts)} failed: ${lastError}`);
      return { kind: 'error', error };
    }
    if (outcome.error) {
      ui.error(`Error waiting for SSH: ${outcome.error.message}`); // parity:
      return { kind: 'error', error: outcome.error };
    }
    if (!outcome.comm) return { kind: 'cancelled' };
    ui.say('Connected to SSH!'); // parity:
    return { kind: 'connected', comm: outcome.comm };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    loop.abort(); // a connection completing after this is closed by the loop itself
  }
}

function where(o: SshConnectOptions): string {
  const via = o.bastion ? ` via bastion ${o.bastion.username}@${o.bastion.host}:${o.bastion.port}` : '';
  return `${o.username}@${o.host}:${o.port}${via}`;
}

interface LoopOutcome {
  comm?: Communicator;
  error?: Error;
}

/** Packer's waitForSSH loop: returns a communicator, or a final error; stops when aborted. */
async function connectLoop<S>(
  opts: SshConnectOptions,
  cfg: Pick<ConnectStepConfig<S>, 'handshakeAttempts' | 'retryDelayMs'>,
  signal: AbortSignal,
  note: (err: string) => void,
): Promise<LoopOutcome> {
  const { connectSsh } = await import('./ssh/index.js');
  const { SshConnectError } = await import('./ssh/connect.js');
  const maxAuth = cfg.handshakeAttempts && cfg.handshakeAttempts > 0 ? cfg.handshakeAttempts : 10;
  let authFailures = 0;
  for (let attempt = 0; !signal.aborted; attempt++) {
    if (attempt > 0 && !(await sleep(cfg.retryDelayMs ?? 5000, signal))) break;
    try {
      const comm = await connectSsh(opts);
      if (signal.aborted) {
        await comm.close();
        break;
      }
      return { comm };
    } catch (e) {
      const err = e as Error;
      const phase = err instanceof SshConnectError ? err.phase : 'dial';
      debugLog(`[DEBUG] SSH connection attempt to ${where(opts)} failed (${phase}): ${err.message}`);
      if (phase === 'config') return { error: err };
      note(err.message);
      if (phase === 'handshake' && err.message.includes('authenticate')) {
        authFailures++;
        // parity:
        const authErr = new Error(
          `Packer experienced an authentication error when trying to connect via SSH. This can happen if your username/password are wrong. You may want to double-check your credentials as part of your debugging process. original error: ${err.message}`,
        );
        if (authFailures >= maxAuth) return { error: authErr };
        if (!(await sleep(2000, signal))) break;
      }
    }
  }
  return {};
}
