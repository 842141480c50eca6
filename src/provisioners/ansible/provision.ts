/**
 * The ansible provisioner's run (spec §D.3–D.9): the proxy (or direct connection), the inventory,
 * galaxy, then ansible-playbook with its output streamed line by line. Every temporary file (keys,
 * inventory) is removed and the proxy stopped when it returns, success or not.
 */
import { randomInt } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { GeneratedData, PackerConfig, ProvisionContext } from '../../core/types.js';
import { interpolationContext } from '../../config/decode.js';
import { renderFixedPoint } from '../../interpolate/index.js';
import { UserError } from '../../util/errors.js';
import { commandArgs, galaxyArgs, inventoryContent, inventoryLine, shlexQuote } from './args.js';
import type { AnsibleConfig } from './config.js';
import { runStreaming } from './run.js';

/** Creates `<dir>/<prefix><random digits>` exclusively (Go's ioutil.TempFile naming). */
async function tempFile(dir: string, prefix: string, content: string, mode = 0o600): Promise<string> {
  for (;;) {
    const path = join(dir, `${prefix}${randomInt(1, 2 ** 31)}`);
    try {
      await fsp.writeFile(path, content, { flag: 'wx', mode });
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A value the builder does not provide reads `ERR_…_NOT_IMPLEMENTED_BY_BUILDER` or is empty. */
function provided(v: string | undefined): v is string {
  return !!v && !v.startsWith('ERR_');
}

/** The ProxyCommand that takes ansible's own ssh through the build's bastion (direct mode). */
function bastionProxyArg(data: GeneratedData, keyFile: string | undefined): string | undefined {
  if (!data.SSHBastionHost) return undefined;
  const parts = [
    'ssh',
    '-o StrictHostKeyChecking=no',
    '-o UserKnownHostsFile=/dev/null',
    '-o BatchMode=yes',
    `-p ${data.SSHBastionPort || '22'}`,
    '-W %h:%p',
  ];
  if (keyFile) parts.push(`-i ${keyFile}`, '-o IdentitiesOnly=yes');
  parts.push(`${data.SSHBastionUser || userInfo().username}@${data.SSHBastionHost}`);
  return `-o ${shlexQuote(`ProxyCommand=${parts.join(' ')}`)}`;
}

export async function provisionAnsible(cfg: AnsibleConfig, pc: PackerConfig, ctx: ProvisionContext): Promise<void> {
  const { ui, data, comm, signal } = ctx;
  ui.say('Provisioning with Ansible...'); // parity:

  // Render the arguments and env vars again, now with the real generated data.
  const ictx = { ...interpolationContext(pc, data), data, buildData: data };
  let envVars: string[];
  let extraArguments: string[];
  try {
    envVars = cfg.ansibleEnvVars.map((v) => renderFixedPoint(v, ictx));
    extraArguments = cfg.extraArguments.map((v) => renderFixedPoint(v, ictx));
  } catch (e) {
    throw new UserError(`Could not interpolate ansible env vars: ${errText(e)}`); // parity:
  }

  const connType = data.ConnType ?? '';
  let useProxy = cfg.useProxy !== false;
  if (!useProxy && !provided(data.Host)) {
    // parity:
    ui.error(
      'Warning: use_proxy is false, but instance does not have an IP address to give to Ansible. Falling back to use localhost proxy.',
    );
    useProxy = true;
  }
  if (!useProxy && connType !== 'ssh' && connType !== 'winrm') {
    // parity:
    ui.error(
      'Warning: use_proxy is false, but communicator is neither ssh nor winrm, so without the proxy ansible will not function. Falling back to localhost proxy.',
    );
    useProxy = true;
  }

  const user = cfg.user || data.User || userInfo().username;
  const cleanups: (() => Promise<void>)[] = [];
  const removeLater = (path: string) => cleanups.push(() => fsp.rm(path, { force: true }));
  try {
    let host: string;
    let port: string;
    let privateKeyFile = '';
    let winrmPassword: string | undefined;
    const sshExtra = [...cfg.ansibleSshExtraArgs];
    let forceSshExtra = false;

    if (useProxy) {
      ui.message('Setting up proxy adapter for Ansible....'); // parity:
      const { startAdapter, generateKeyPair } = await import('../../adapter/index.js');
      let authorizedKey: string;
      if (cfg.sshAuthorizedKeyFile) {
        try {
          authorizedKey = await fsp.readFile(cfg.sshAuthorizedKeyFile, 'utf8');
        } catch {
          throw new UserError('Failed to read public key'); // parity:
        }
      } else {
        const pair = await generateKeyPair(cfg.proxyKeyType);
        authorizedKey = pair.publicKey;
        privateKeyFile = await tempFile(tmpdir(), 'ansible-key', pair.privateKey);
        removeLater(privateKeyFile);
      }
      let hostKey: string | Buffer;
      if (cfg.sshHostKeyFile) {
        try {
          hostKey = await fsp.readFile(cfg.sshHostKeyFile);
        } catch {
          throw new UserError('error creating host signer: Failed to load private host key'); // parity:
        }
      } else {
        hostKey = (await generateKeyPair(cfg.proxyKeyType)).privateKey;
      }
      let adapter;
      try {
        adapter = await startAdapter({
          comm,
          ui,
          user,
          hostKey,
          authorizedKey,
          port: cfg.localPort,
          sftpCommand: cfg.sftpCommand || undefined,
        });
      } catch (e) {
        throw new UserError(errText(e));
      }
      cleanups.push(() => adapter.close());
      host = adapter.host;
      port = String(adapter.port);
    } else if (connType === 'ssh') {
      // parity:
      ui.message('Not using Proxy adapter for Ansible run:\n\tUsing ssh keys from Packer communicator...');
      if (data.SSHPrivateKeyFile || data.SSHAgentAuth === 'true') {
        privateKeyFile = data.SSHPrivateKeyFile ?? '';
      } else {
        privateKeyFile = await tempFile(tmpdir(), 'ansible-key', data.SSHPrivateKey ?? '');
        removeLater(privateKeyFile); // Packer leaves it behind (quirk H.20); kiln removes it.
      }
      let bastionKey = data.SSHBastionPrivateKeyFile || undefined;
      if (!bastionKey && data.SSHBastionPrivateKey) {
        bastionKey = await tempFile(tmpdir(), 'ansible-bastion-key', data.SSHBastionPrivateKey);
        removeLater(bastionKey);
      }
      const jump = bastionProxyArg(data, bastionKey);
      if (jump) {
        if (!sshExtra.length) sshExtra.push('-o IdentitiesOnly=yes');
        sshExtra.push(jump);
        forceSshExtra = true;
      }
      host = data.Host;
      port = data.Port;
    } else {
      // parity:
      ui.message('Not using Proxy adapter for Ansible run:\n\tUsing WinRM Password from Packer communicator...');
      winrmPassword = data.WinRMPassword || data.Password || '';
      host = data.Host;
      port = data.Port;
    }

    // The inventory (§D.6).
    let inventory = cfg.inventoryFile;
    if (!inventory) {
      let line: string;
      if (cfg.inventoryFileTemplate) {
        try {
          line = renderFixedPoint(cfg.inventoryFileTemplate, {
            ...ictx,
            data: { ...data, HostAlias: cfg.hostAlias, User: user, Host: host, Port: port },
          });
        } catch (e) {
          throw new UserError(`Error generating inventory file from template: ${errText(e)}`); // parity:
        }
      } else {
        line = inventoryLine({
          hostAlias: cfg.hostAlias,
          host,
          port,
          user,
          groups: cfg.groups,
          emptyGroups: cfg.emptyGroups,
          ansibleMajor: cfg.ansibleMajor,
          winrm: !useProxy && connType === 'winrm',
        });
      }
      try {
        inventory = await tempFile(
          cfg.inventoryDirectory || tmpdir(),
          'packer-provisioner-ansible',
          inventoryContent(line, cfg.groups, cfg.emptyGroups),
        );
      } catch (e) {
        throw new UserError(`Error preparing inventory file: ${errText(e)}`); // parity:
      }
      if (!cfg.keepInventoryFile) removeLater(inventory);
    }

    // Galaxy (§D.8): Packer's environment only.
    const baseEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) baseEnv[k] = v;
    if (cfg.galaxyFile) {
      ui.message('Executing Ansible Galaxy'); // parity:
      const text = await fsp.readFile(cfg.galaxyFile, 'utf8');
      for (const args of galaxyArgs({
        file: cfg.galaxyFile,
        text,
        force: cfg.galaxyForceInstall,
        rolesPath: cfg.rolesPath,
        collectionsPath: cfg.collectionsPath,
      })) {
        try {
          await runStreaming(cfg.galaxyCommand, args, baseEnv, ui, signal);
        } catch (e) {
          throw new UserError(`Error executing Ansible: Error executing Ansible Galaxy: ${errText(e)}`); // parity:
        }
      }
    }

    // ansible-playbook (§D.5): env = ours + ansible_env_vars + Packer's additions (later wins).
    const env = { ...baseEnv };
    const additions = [...envVars];
    if (!cfg.sshHostKeyFile) additions.push('ANSIBLE_HOST_KEY_CHECKING=False');
    if (!cfg.useSftp) additions.push('ANSIBLE_SCP_IF_SSH=True');
    for (const kv of additions) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const args = commandArgs({
      buildName: pc.buildName,
      builderType: pc.builderType,
      httpAddr: provided(data.PackerHTTPAddr) ? data.PackerHTTPAddr : undefined,
      connType,
      privateKeyFile,
      sshExtraArgs: sshExtra,
      forceSshExtraArgs: forceSshExtra,
      extraArguments,
      winrmPassword,
      envVars,
      inventoryFile: inventory,
      playbookFile: resolve(cfg.playbookFile),
    });
    let shown = [cfg.command, ...args].join(' ');
    if (winrmPassword) shown = shown.split(winrmPassword).join('*****');
    ui.say(`Executing Ansible: ${shown}`); // parity:
    try {
      await runStreaming(cfg.command, args, env, ui, signal);
    } catch (e) {
      throw new UserError(`Error executing Ansible: ${errText(e)}`); // parity:
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}
