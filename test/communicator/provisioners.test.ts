/**
 * The shell and file provisioners against the real sshd: the exact remote command sequence,
 * environment values that try to break out of their quotes, exit codes, disconnects, file
 * upload/download semantics. Commands are read back from the sshd's recorder (test/env).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import { connectSsh } from '../../src/communicator/ssh/index.js';
import { NoneCommunicator } from '../../src/communicator/none/index.js';
import { create as createShell } from '../../src/provisioners/shell/index.js';
import { create as createFile } from '../../src/provisioners/file/index.js';
import { placeholderData } from '../../src/config/decode.js';
import type { Communicator, PackerConfig, RawConfig } from '../../src/core/types.js';
import { CaptureUi } from './capture-ui.js';
import { packerConfigWith } from '../../src/core/packer-config.js';

let env: SshEnv;
let comm: Communicator;
let scratch: string;
before(async () => {
  env = await startSshEnv();
  comm = await connectSsh({
    host: env.host,
    port: env.port,
    username: env.user,
    privateKeys: [await fsp.readFile(env.keyFile)],
  });
  scratch = await fsp.mkdtemp('/tmp/kiln-prov-');
  execFileSync('chown', [`${env.user}:`, scratch]);
});
after(async () => {
  await comm?.close();
  await env?.stop();
  if (scratch) await fsp.rm(scratch, { recursive: true, force: true });
});

function pc(): PackerConfig {
  return packerConfigWith({ buildName: 'null', builderType: 'null', initTime: new Date(0), runUuid: 'uuid' });
}

const DATA = { ID: 'Null', Host: '127.0.0.1', PackerHTTPAddr: 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER' };

async function shell(raw: RawConfig, c: Communicator = comm) {
  const p = createShell();
  await p.prepare([raw], pc(), placeholderData());
  const ui = new CaptureUi();
  await env.clearCommands();
  let error: Error | undefined;
  try {
    await p.provision({ ui, comm: c, data: { ...DATA }, signal: new AbortController().signal });
  } catch (e) {
    error = e as Error;
  }
  return { ui, error, commands: await env.commands() };
}

describe('shell provisioner over SSH', () => {
  it('runs the exact remote command sequence for an inline script', async () => {
    const folder = `${scratch}/remote`;
    await fsp.mkdir(folder);
    execFileSync('chown', [`${env.user}:`, folder]);
    const r = await shell({
      inline: ['echo hi'],
      remote_folder: folder,
      environment_vars: ["FOO=it's val", 'BAR=x'],
    });
    assert.equal(r.error, undefined);
    const script = /script_\d+\.sh/.exec(r.commands[1])?.[0];
    assert.ok(script, r.commands.join('\n'));
    const P = `${folder}/${script}`;
    assert.deepEqual(r.commands, [
      `scp -vt ${folder}`,
      `chmod 0755 ${P}\n`,
      `chmod +x ${P}; BAR='x' FOO='it'"'"'s val' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='null'  ${P}\n`,
      `rm -f ${P}\n`,
      'rm -f \n',
    ]);
    assert.match(r.ui.lines[0], /^say: Provisioning with shell script: .*packer-shell\d+$/);
    assert.deepEqual(r.ui.lines.slice(1), ['message: hi']);
    await assert.rejects(fsp.stat(P));
  });

  it('uses an env var file when asked', async () => {
    const r = await shell({
      inline: ['echo "[$A]"'],
      use_env_var_file: true,
      remote_file: 'fixed.sh',
      environment_vars: ['A=1 2'],
    });
    assert.equal(r.error, undefined);
    const varfile = /\/tmp\/varfile_\d+\.sh/.exec(r.commands[1])?.[0];
    assert.deepEqual(r.commands, [
      'scp -vt /tmp',
      `chmod 0600 ${varfile}\n`,
      'scp -vt /tmp',
      'chmod 0755 /tmp/fixed.sh\n',
      `chmod +x /tmp/fixed.sh; . ${varfile} && /tmp/fixed.sh\n`,
      'rm -f /tmp/fixed.sh\n',
      `rm -f ${varfile}\n`,
    ]);
    assert.deepEqual(r.ui.lines.slice(1), ['message: [1 2]']);
  });

  const nasty = [
    "'; touch /tmp/kiln-pwned; echo '",
    '$(touch /tmp/kiln-pwned)',
    '`touch /tmp/kiln-pwned`',
    '"; touch /tmp/kiln-pwned; "',
    "a'\"'\"'b$(touch /tmp/kiln-pwned)",
    'line1\nline2; touch /tmp/kiln-pwned',
    "\\'; touch /tmp/kiln-pwned #",
  ];
  for (const mode of ['vars', 'env var file'] as const) {
    it(`keeps hostile environment values inside their quotes (${mode})`, async () => {
      await fsp.rm('/tmp/kiln-pwned', { force: true });
      const vars = nasty.map((v, i) => `V${i}=${v}`);
      const r = await shell({
        inline: nasty.map((_, i) => `printf '%s\\n' "V${i}=$V${i}" | base64 -w0; echo`),
        environment_vars: vars,
        use_env_var_file: mode === 'env var file',
      });
      assert.equal(r.error, undefined);
      const got = r.ui.lines
        .slice(1)
        .map((l) => Buffer.from(l.replace(/^message: /, ''), 'base64').toString());
      assert.deepEqual(
        got,
        vars.map((v) => `${v}\n`),
      );
      await assert.rejects(fsp.stat('/tmp/kiln-pwned'), 'an environment value escaped its quotes');
    });
  }

  it("fails on a disallowed exit code with Packer's message and still accepts listed ones", async () => {
    const bad = await shell({ inline: ['exit 3'] });
    assert.equal(
      bad.error?.message,
      'Script exited with non-zero exit status: 3.Allowed exit codes are: [0]',
    );
    assert.ok(!bad.commands.some((c) => c.startsWith('rm -f')), 'no cleanup after a failed script');
    const ok = await shell({ inline: ['exit 7'], valid_exit_codes: [0, 7] });
    assert.equal(ok.error, undefined);
  });

  it('reports an unexpected disconnect, and accepts it with expect_disconnect', async () => {
    const bad = await shell({ inline: ['kill -KILL $PPID'] });
    assert.match(
      bad.error?.message ?? '',
      /^Script disconnected unexpectedly\. If you expected your script to disconnect/,
    );
    const ok = await shell({ inline: ['kill -KILL $PPID'], expect_disconnect: true });
    assert.equal(ok.error, undefined);
  });

  it('runs several scripts to the same remote path, normalising line endings unless binary', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-scripts-'));
    await fsp.writeFile(
      join(dir, 'a.sh'),
      '#!/bin/sh\r\necho a-$(printf x | od -c | head -1 | wc -w)\r\nprintf "no-final-newline"',
    );
    await fsp.writeFile(join(dir, 'b.sh'), '#!/bin/sh\necho b\n');
    const r = await shell({
      scripts: [join(dir, 'a.sh'), join(dir, 'b.sh')],
      remote_path: `${scratch}/same.sh`,
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.ui.lines, [
      `say: Provisioning with shell script: ${dir}/a.sh`,
      'message: a-2',
      'message: no-final-newline',
      `say: Provisioning with shell script: ${dir}/b.sh`,
      'message: b',
    ]);
    assert.equal(r.commands.filter((c) => c === `scp -vt ${scratch}`).length, 2);
    const kept = await shell({
      scripts: [join(dir, 'a.sh')],
      remote_path: `${scratch}/kept.sh`,
      binary: true,
      skip_clean: true,
    });
    assert.equal((await fsp.readFile(`${scratch}/kept.sh`, 'utf8')).includes('\r\n'), true);
    assert.ok(!kept.commands.some((c) => c.startsWith('rm -f')));
    await fsp.rm(dir, { recursive: true });
  });

  it('renders execute_command with Vars, Path and generated data', async () => {
    const r = await shell({
      inline: ['true'],
      execute_command: 'echo "{{.Path}}|{{.Host}}|{{.Vars}}" ; sh {{.Path}}',
      remote_path: '/tmp/x1.sh',
      environment_vars: ['K=v'],
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.ui.lines.slice(1), [
      "message: /tmp/x1.sh|127.0.0.1|K='v' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='null'",
    ]);
  });

  it('retries the upload until start_retry_timeout and reports the last error (communicator none)', async () => {
    const t0 = Date.now();
    const r = await shell({ inline: ['true'], start_retry_timeout: '3s' }, new NoneCommunicator());
    assert.equal(
      r.error?.message,
      "Error uploading script: Upload is not implemented when communicator = 'none'",
    );
    assert.ok(Date.now() - t0 >= 2900, 'retried for the whole window');
  });

  it('pauses after the scripts', async () => {
    const t0 = Date.now();
    const r = await shell({ inline: ['true'], pause_after: '500ms' });
    assert.equal(r.ui.lines.at(-1), 'say: Pausing 500ms after this provisioner...');
    assert.ok(Date.now() - t0 >= 500);
  });

  it('reports every configuration problem at once', async () => {
    const p = createShell();
    await assert.rejects(
      p.prepare(
        [{ script: 'nope.sh', scripts: ['x'], inline: ['a'], environment_vars: ['=x', 'novalue'] }],
        pc(),
        placeholderData(),
      ),
      (e: Error) => {
        assert.equal(
          e.message,
          [
            '5 error(s) occurred:',
            '',
            '* Only one of script or scripts can be specified.',
            '* Only a script file or an inline script can be specified, not both.',
            "* Bad script 'nope.sh': stat nope.sh: no such file or directory",
            "* Environment variable not in format 'key=value': =x",
            "* Environment variable not in format 'key=value': novalue",
          ].join('\n'),
        );
        return true;
      },
    );
  });
});

async function file(raw: RawConfig) {
  const p = createFile();
  await p.prepare([raw], pc(), placeholderData());
  const ui = new CaptureUi();
  let error: Error | undefined;
  try {
    await p.provision({ ui, comm, data: { ...DATA }, signal: new AbortController().signal });
  } catch (e) {
    error = e as Error;
  }
  return { ui, error };
}

describe('file provisioner over SSH', () => {
  it('uploads a file to a path or into a directory (trailing slash), keeping its mode', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-file-'));
    await fsp.writeFile(join(dir, 'f.txt'), 'F', { mode: 0o640 });
    const r1 = await file({ source: join(dir, 'f.txt'), destination: `${scratch}/renamed.txt` });
    assert.equal(r1.error, undefined);
    assert.deepEqual(r1.ui.lines, [`say: Uploading ${dir}/f.txt => ${scratch}/renamed.txt`]);
    assert.equal((await fsp.stat(`${scratch}/renamed.txt`)).mode & 0o777, 0o640);
    const r2 = await file({ source: join(dir, 'f.txt'), destination: `${scratch}/` });
    assert.equal(r2.error, undefined);
    assert.equal(await fsp.readFile(`${scratch}/f.txt`, 'utf8'), 'F');
    await fsp.rm(dir, { recursive: true });
  });

  it('uploads a directory itself, or only its contents with a trailing slash', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-file-'));
    await fsp.mkdir(join(dir, 'tree/sub'), { recursive: true });
    await fsp.writeFile(join(dir, 'tree/sub/x'), 'X');
    await fsp.mkdir(`${scratch}/up1`);
    await fsp.mkdir(`${scratch}/up2`);
    execFileSync('chown', [`${env.user}:`, `${scratch}/up1`, `${scratch}/up2`]);
    assert.equal((await file({ source: join(dir, 'tree'), destination: `${scratch}/up1` })).error, undefined);
    assert.equal(
      (await file({ source: join(dir, 'tree/'), destination: `${scratch}/up2` })).error,
      undefined,
    );
    assert.equal(await fsp.readFile(`${scratch}/up1/tree/sub/x`, 'utf8'), 'X');
    assert.equal(await fsp.readFile(`${scratch}/up2/sub/x`, 'utf8'), 'X');
    await fsp.rm(dir, { recursive: true });
  });

  it('renders {{ build }} data in source and destination', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-file-'));
    await fsp.writeFile(join(dir, 'Null.txt'), 'N');
    const r = await file({
      source: `${dir}/{{ build \`ID\` }}.txt`,
      destination: `${scratch}/{{ build \`Host\` }}.txt`,
      generated: true,
    });
    assert.equal(r.error, undefined);
    assert.equal(await fsp.readFile(`${scratch}/127.0.0.1.txt`, 'utf8'), 'N');
    await fsp.rm(dir, { recursive: true });
  });

  it('downloads a file and a directory', async () => {
    await fsp.mkdir(`${scratch}/dl/in`, { recursive: true });
    await fsp.writeFile(`${scratch}/dl/one.txt`, '1');
    await fsp.writeFile(`${scratch}/dl/in/two.txt`, '2');
    execFileSync('chown', ['-R', `${env.user}:`, `${scratch}/dl`]);
    const local = await fsp.mkdtemp(join(tmpdir(), 'kiln-dl-'));
    const r1 = await file({
      direction: 'download',
      source: `${scratch}/dl/one.txt`,
      destination: `${local}/deep/`,
    });
    assert.equal(r1.error, undefined);
    assert.equal(await fsp.readFile(`${local}/deep/one.txt`, 'utf8'), '1');
    const r2 = await file({ direction: 'download', source: `${scratch}/dl/`, destination: `${local}/tree` });
    assert.equal(r2.error, undefined);
    assert.equal(await fsp.readFile(`${local}/tree/in/two.txt`, 'utf8'), '2');
    await fsp.rm(local, { recursive: true });
  });

  it("reports a failed upload with Packer's message", async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'kiln-file-'));
    await fsp.writeFile(join(dir, 'f'), 'F');
    const r = await file({ source: join(dir, 'f'), destination: '/nonexistent-dir/deeper/f' });
    assert.ok(r.error);
    assert.match(r.ui.lines.at(-1) ?? '', /^error: Upload failed: .*nonexistent-dir/);
    await fsp.rm(dir, { recursive: true });
  });

  it('validates its options', async () => {
    await assert.rejects(
      createFile().prepare([{ direction: 'sideways', source: '/nope' }], pc(), placeholderData()),
      (e: Error) => {
        assert.equal(
          e.message,
          '2 error(s) occurred:\n\n* Direction must be one of: download, upload.\n* Destination must be specified.',
        );
        return true;
      },
    );
  });
});
