/**
 * AWS Session Manager for `ssh_interface: "session_manager"` (spec §B.10): the SSM client (AWS SDK
 * v3, loaded only when a build opens a tunnel), and the tunnel itself — ssm:StartSession with the
 * AWS-StartPortForwardingSession document, then AWS's external `session-manager-plugin` program,
 * which listens on the local port and carries its connections to the instance's SSH port. The
 * plugin is restarted (with a new session) whenever it ends, until the tunnel is stopped; every
 * session is terminated with ssm:TerminateSession when its plugin is gone.
 *
 * No SDK import here (types only): `kiln validate` must not load the SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SSMClient, StartSessionRequest, StartSessionResponse } from '@aws-sdk/client-ssm';
import type { Ui } from '../../../ui/ui.js';
import { debugLog } from '../../../util/log.js';
import type { AccessConfig } from './config.js';
import {
  awsErrorCode,
  awsErrorText,
  clientOptions,
  ec2Endpoint,
  loadSdk,
  type CredentialsInput,
} from './aws.js';
import { logRetries } from './retry.js';
import { sleep } from './waiters.js';

export type SsmSdk = typeof import('@aws-sdk/client-ssm');

export interface Ssm {
  sdk: SsmSdk;
  client: SSMClient;
  region: string;
}

/** The program AWS ships for Session Manager tunnels; kiln runs it like Packer, from PATH. */
export const PLUGIN = 'session-manager-plugin';

/** Where AWS documents installing it (named in kiln's error when it is missing). */
export const PLUGIN_INSTALL_URL =
  'https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html';

/**
 * The SSM endpoint, or undefined for the SDK's regional default: AWS_ENDPOINT_URL_SSM, else the
 * EC2 chain (custom_endpoint_ec2, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL) — 1.6.6 made its SSM
 * client from the session custom_endpoint_ec2 was set on, so SSM calls went there too.
 */
export function ssmEndpoint(access: AccessConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const own = env.AWS_ENDPOINT_URL_SSM || '';
  if (own === '') return ec2Endpoint(access, env);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(own) ? own : `https://${own}`;
}

/** Creates the SSM client (the SDK is loaded here, not before), with the build's shared settings. */
export async function createSsm(
  access: AccessConfig,
  region: string,
  credentials: CredentialsInput | undefined,
): Promise<Ssm> {
  const sdk = loadSdk<SsmSdk>('@aws-sdk/client-ssm');
  const opts = await clientOptions(access, region, ssmEndpoint(access), credentials);
  const client = new sdk.SSMClient(opts as never);
  logRetries(client, 'SSM');
  return { sdk, client, region };
}

/** StartSession's input for a port-forwarding tunnel from `localPort` here to `remotePort` there. */
export function tunnelInput(instanceId: string, remotePort: number, localPort: number): StartSessionRequest {
  return {
    DocumentName: 'AWS-StartPortForwardingSession',
    Parameters: { localPortNumber: [String(localPort)], portNumber: [String(remotePort)] },
    Target: instanceId,
  };
}

/**
 * The plugin's arguments, in the order it requires: the session as JSON, the region, the operation,
 * the profile (always "" in 1.6.6), the request as JSON, the session's stream URL. The JSON texts
 * have the fields and field order aws-sdk-go's json.Marshal gives in the packer 1.6.6 this project
 * compares against (Debian's build: its aws-sdk-go has StartSessionInput.Reason, marshalled as null;
 * upstream's 1.6.6 binary had no such field). The plugin reads SessionId/TokenValue/StreamUrl and
 * Target/Parameters and ignores the rest.
 */
export function pluginArgs(
  session: StartSessionResponse,
  region: string,
  input: StartSessionRequest,
): string[] {
  const sessionJson = JSON.stringify({
    SessionId: session.SessionId ?? null,
    StreamUrl: session.StreamUrl ?? null,
    TokenValue: session.TokenValue ?? null,
  });
  const params: Record<string, string[]> = {};
  for (const k of Object.keys(input.Parameters ?? {}).sort()) params[k] = input.Parameters?.[k] ?? [];
  const inputJson = JSON.stringify({
    DocumentName: input.DocumentName ?? null,
    Parameters: params,
    Reason: input.Reason ?? null,
    Target: input.Target ?? null,
  });
  return [sessionJson, region, 'StartSession', '', inputJson, session.StreamUrl ?? ''];
}

/** The path of an executable `name` on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** kiln's error when the plugin is not installed (checked before the build creates anything). */
export function missingPluginMessage(): string {
  return `Cannot use ssh_interface "session_manager": the program ${PLUGIN} was not found on PATH; install AWS's Session Manager plugin (${PLUGIN_INSTALL_URL}) or choose another ssh_interface`;
}

// Terminal colour/erase codes, as the line cleaner of Packer's RunAndStream removed them.
const SHELL_CODES = /\x1b\[([0-9]{1,2}(;[0-9]{1,2})?)?[a|b|m|k]/gi;

/** One line of plugin output as Packer showed it: codes removed, trimmed, text after the last CR. */
export function cleanOutputLine(line: string): string {
  const trimmed = line.replace(SHELL_CODES, '').trim();
  const cr = trimmed.lastIndexOf('\r');
  return cr >= 0 ? trimmed.slice(cr + 1) : trimmed;
}

export interface TunnelOptions {
  ssm: () => Promise<Ssm>;
  /** The region the plugin is told (the build region). */
  region: string;
  instanceId: string;
  /** The instance's SSH port (ssh_port). */
  remotePort: number;
  /** The local port the plugin listens on. */
  localPort: number;
  ui: Ui;
  /** Told when a session starts (true) and when it is terminated (false): the leftovers list. */
  onSession?: (id: string, live: boolean) => void;
  /** The program to run (default: session-manager-plugin from PATH). */
  program?: string;
}

/** The plugin's line once it listens: `Port 8123 opened for sessionId <id>.` (newer: `sessionID`). */
const PORT_OPEN = /^Port \d+ opened for sessionId\b/i;

/** How long `open` waits at most for that line. */
const READY_WAIT_MS = 10_000;

/** A session the tunnel failed to start: the step's (first session) or a log line's (later). */
export class SsmStartError extends Error {}

/**
 * One Session Manager tunnel. `open` starts the first session (waiting while the instance's agent
 * is not connected yet) and the plugin; from then on the tunnel lives in the background until
 * `stop`, or until `signal` (Ctrl-C) fires.
 */
export class SsmTunnel {
  private readonly ctrl = new AbortController();
  private signal: AbortSignal = this.ctrl.signal;
  private child?: ChildProcess;
  private loop?: Promise<void>;
  /** Called once when the first plugin reports its local port open (see `open`). */
  private onListening?: () => void;
  /** Sessions started and not yet terminated. */
  private readonly live = new Set<string>();
  /** A plugin still running when kiln exits (-on-error=abort skipped the cleanup) goes with it. */
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGTERM');
  };

  constructor(private readonly o: TunnelOptions) {}

  /**
   * Starts the first session and the plugin. StartSession is retried while the instance is not
   * connected to Session Manager (TargetNotConnected: its agent is still starting), backing off
   * from 200 ms to 60 s, for at most `deadlineMs`.
   */
  async open(runSignal: AbortSignal, deadlineMs: number): Promise<void> {
    this.signal = AbortSignal.any([runSignal, this.ctrl.signal]);
    const first = await this.startSession(Date.now() + deadlineMs);
    let ready = (): void => undefined;
    const listening = new Promise<void>((resolve) => (ready = resolve));
    this.onListening = ready;
    this.loop = this.keepOpen(first);
    void this.loop.finally(ready);
    // kiln's addition: return once the plugin says its port is open (as Ansible's aws_ssm
    // connection waits for that line), so that StepConnect's first attempt finds the tunnel instead
    // of failing and waiting its 5 s retry; a plugin that never says so costs at most READY_WAIT_MS.
    const waited = new AbortController();
    const cap = sleep(READY_WAIT_MS, AbortSignal.any([this.signal, waited.signal])).catch(() => undefined);
    await Promise.race([listening, cap]);
    waited.abort();
    this.onListening = undefined;
  }

  /**
   * The step's cleanup: stops the plugin, waits for the background loop to end and terminates
   * every session still open. (-on-error=abort skips cleanups: the sessions are then listed as
   * leftovers, and the plugin is stopped when kiln exits.)
   */
  async stop(): Promise<void> {
    this.ctrl.abort();
    this.stopChild();
    await this.loop;
    for (const id of [...this.live]) await this.terminateSession(id);
  }

  /** SIGTERM to the plugin; SIGKILL if it is still there after 5 s (cleanup must not hang on it). */
  private stopChild(): void {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    t.unref();
    child.once('close', () => clearTimeout(t));
  }

  private async startSession(deadline: number | undefined): Promise<StartSessionResponse> {
    const { client, sdk } = await this.o.ssm();
    const input = tunnelInput(this.o.instanceId, this.o.remotePort, this.o.localPort);
    debugLog(
      `[INFO] ssm: Starting PortForwarding session to instance ${this.o.instanceId} (local port ${this.o.localPort}, remote port ${this.o.remotePort})`,
    );
    let delay = 200;
    for (;;) {
      this.signal.throwIfAborted();
      try {
        // Not aborted mid-flight: a session AWS made must be known here so that it is terminated.
        const out = await client.send(new sdk.StartSessionCommand(input));
        if (!out.SessionId) {
          throw new SsmStartError(
            'an active Amazon SSM Session is required before trying to open a session tunnel',
          ); // parity: ssm/session.go
        }
        this.live.add(out.SessionId);
        this.o.onSession?.(out.SessionId, true);
        if (this.signal.aborted) {
          await this.terminateSession(out.SessionId);
          this.signal.throwIfAborted();
        }
        return out;
      } catch (err) {
        if (err instanceof SsmStartError || this.signal.aborted) throw err;
        if (awsErrorCode(err) !== 'TargetNotConnected') {
          throw new SsmStartError(`ssm error: ${awsErrorText(err)}`, { cause: err }); // parity: step_create_ssm_tunnel.go
        }
        if (deadline !== undefined && Date.now() + delay > deadline) {
          throw new SsmStartError(
            `Cannot open the Session Manager tunnel to ${this.o.instanceId}: the instance is still not connected to Session Manager (${awsErrorText(err)}); check that its SSM agent runs and its instance profile allows AmazonSSMManagedInstanceCore`,
            { cause: err },
          );
        }
        debugLog(`[DEBUG] ssm: ${this.o.instanceId} not connected yet; StartSession again in ${delay} ms`);
      }
      await sleep(delay, this.signal);
      delay = Math.min(delay * 2, 60_000);
    }
  }

  /** The background life of the tunnel: plugin, terminate, new session, until stopped. */
  private async keepOpen(first: StartSessionResponse): Promise<void> {
    let session = first;
    let pause = 1000;
    for (;;) {
      const id = session.SessionId ?? '';
      this.o.ui.message(`Starting portForwarding session "${id}".`); // parity: ssm/session.go
      const began = Date.now();
      const outcome = await this.runPlugin(session);
      await this.terminateSession(id);
      if (outcome === 'no-program' || this.signal.aborted) return;
      // A plugin that keeps failing at once must not turn into a storm of sessions.
      if (Date.now() - began > 60_000) pause = 1000;
      try {
        await sleep(pause, this.signal);
      } catch {
        return;
      }
      pause = Math.min(pause * 2, 30_000);
      try {
        session = await this.startSession(undefined);
      } catch (err) {
        if (!this.signal.aborted) this.o.ui.error((err as Error).message);
        return;
      }
    }
  }

  /** Runs the plugin for one session, its output streamed as messages; resolves when it is gone. */
  private runPlugin(session: StartSessionResponse): Promise<'ended' | 'no-program'> {
    const input = tunnelInput(this.o.instanceId, this.o.remotePort, this.o.localPort);
    const args = pluginArgs(session, this.o.region, input);
    const program = this.o.program ?? PLUGIN;
    debugLog(`[INFO] Executing: ${program} (session ${session.SessionId ?? ''})`);
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        this.o.ui.error((err as Error).message);
        resolve('no-program');
        return;
      }
      this.child = child;
      process.once('exit', this.killOnExit);
      const onAbort = (): void => this.stopChild();
      this.signal.addEventListener('abort', onAbort, { once: true });
      if (this.signal.aborted) onAbort();
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          const text = cleanOutputLine(line);
          if (text === '') return;
          this.o.ui.message(text);
          if (PORT_OPEN.test(text)) this.onListening?.();
        });
      }
      let spawnError: NodeJS.ErrnoException | undefined;
      child.once('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
      });
      child.once('close', (code, sig) => {
        this.signal.removeEventListener('abort', onAbort);
        process.removeListener('exit', this.killOnExit);
        this.child = undefined;
        if (spawnError) {
          this.o.ui.error(
            spawnError.code === 'ENOENT'
              ? `exec: "${program}": executable file not found in $PATH` // parity: Go os/exec
              : `Cannot run ${program}: ${spawnError.message}`,
          );
          this.onListening?.();
          resolve('no-program');
          return;
        }
        // Stopped on purpose: no complaint (1.6.6 printed the killed plugin's "Bad exit status: -1").
        if (!this.signal.aborted && code !== 0) {
          this.o.ui.error(`Bad exit status: ${code ?? -1}`); // parity: localexec.RunAndStream
        }
        debugLog(`[INFO] ${program} ended (code ${String(code)}, signal ${String(sig)})`);
        this.onListening?.();
        resolve('ended');
      });
    });
  }

  private async terminateSession(id: string): Promise<void> {
    if (!this.live.has(id)) return;
    this.live.delete(id);
    try {
      const { client, sdk } = await this.o.ssm();
      await client.send(new sdk.TerminateSessionCommand({ SessionId: id }));
      this.o.onSession?.(id, false);
    } catch (err) {
      this.o.ui.error(
        `Error terminating SSM Session "${id}". Please terminate the session manually: ${awsErrorText(err)}`,
      ); // parity: ssm/session.go
    }
  }
}
