/**
 * The ansible provisioner end to end: real ansible-playbook against the test sshd, through kiln's
 * proxy (legacy scp with `--scp-extra-args '-O'`, and SFTP) and directly (use_proxy false, through
 * the bastion). The playbook uses facts, a vaulted group var from the inventory directory, become,
 * diff mode, file transfer both ways and a task delegated to localhost (the kiln host).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';
import type { Communicator, GeneratedData, PackerConfig, RawConfig } from '../../src/core/types.js';
import { packerConfigWith } from '../../src/core/packer-config.js';
import { create } from '../../src/provisioners/ansible/index.js';
import { ConfigError } from '../../src/util/errors.js';
import { connectComm, exec, recordingUi, tempDir } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../test/ansible/fixtures/', import.meta.url));

export function packerConfig(over: Partial<PackerConfig> = {}): PackerConfig {
  return packerConfigWith({
    buildName: 'kiln-test',
    builderType: 'amazon-ebs',
    templatePath: join(FIXTURES, 'template.json'),
    runUuid: '00000000-0000-0000-0000-000000000000',
    ...over,
  });
}

describe('ansible provisioner (real ansible-playbook, real sshd)', () => {
  let env: SshEnv;
  let comm: Communicator;
  let work: string;
  let inventoryDir: string;
  let data: GeneratedData;

  before(async () => {
    env = await startSshEnv({ recordCommands: false });
    comm = await connectComm(env);
    work = await tempDir('kiln-ansible-test');
    inventoryDir = join(work, 'inventory');
    await fsp.cp(join(FIXTURES, 'inventory'), inventoryDir, { recursive: true });
    data = {
      ID: 'i-test',
      Host: env.host,
      Port: String(env.port),
      User: env.user,
      ConnType: 'ssh',
      SSHPrivateKey: await fsp.readFile(env.keyFile, 'utf8'),
      SSHPrivateKeyFile: '',
      SSHAgentAuth: 'false',
      PackerHTTPAddr: 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER',
    };
  });

  after(async () => {
    await comm?.close();
    await env?.stop();
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  /** Prepares and runs the provisioner with the test playbook; returns the UI transcript. */
  async function runPlaybook(name: string, extra: RawConfig, d: GeneratedData = data) {
    const out = join(work, name);
    await fsp.mkdir(out);
    const marker = join(env.home, `kiln-marker-${name}.json`);
    const upload = join(env.home, `kiln-upload-${name}.txt`);
    await fsp.rm(marker, { force: true });
    await fsp.rm(upload, { force: true });
    const vars = [
      `marker_path=${marker}`,
      `upload_path=${upload}`,
      `fetch_dir=${out}`,
      `delegated_path=${join(out, 'delegated.txt')}`,
    ];
    const raw: RawConfig = {
      playbook_file: join(FIXTURES, 'playbook.yml'),
      inventory_directory: inventoryDir,
      host_alias: 'packer',
      ansible_env_vars: [`ANSIBLE_SSH_CONTROL_PATH_DIR=${join(out, 'cp')}`, 'ANSIBLE_NOCOLOR=1'],
      ...extra,
    };
    raw.extra_arguments = [...((extra.extra_arguments as string[]) ?? []), ...vars.flatMap((v) => ['-e', v])];
    const p = create();
    await p.prepare([raw], packerConfig(), {});
    const ui = recordingUi();
    const ac = new AbortController();
    let error: unknown;
    try {
      await p.provision({ ui, comm, data: d, signal: ac.signal });
    } catch (e) {
      error = e;
    }
    return { ui, error, out, marker, upload };
  }

  async function checkResults(r: Awaited<ReturnType<typeof runPlaybook>>): Promise<void> {
    const text = r.ui.lines.join('\n');
    assert.equal(r.error, undefined, `${String(r.error)}\n${text}`);
    assert.match(text, /^==> test: Provisioning with Ansible\.\.\.$/m);
    assert.match(text, /^ {4}test: PLAY RECAP \*+$/m);
    assert.match(text, /^ {4}test: packer +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0/m);
    assert.match(text, new RegExp(`user=${env.user} `), 'facts: tasks run as the communicator user');
    assert.match(text, /env=kilntest build=kiln-test builder=amazon-ebs/);
    // diff mode (-D) shows the marker's content
    assert.match(text, /^ {4}test: \+\s*"env": "kilntest",$/m);
    const st = await fsp.stat(r.marker);
    assert.equal(st.uid, 0, 'become: the marker is root-owned');
    const payload = await fsp.readFile(join(FIXTURES, 'payload.txt'), 'utf8');
    assert.equal(await fsp.readFile(r.upload, 'utf8'), payload);
    assert.equal(await fsp.readFile(join(r.out, `kiln-upload-${r.out.split('/').pop()}.txt`), 'utf8'), payload);
    assert.equal(await fsp.readFile(join(r.out, 'delegated.txt'), 'utf8'), 'delegated from packer\n');
    // nothing left behind: the generated inventory and key are gone
    const left = await fsp.readdir(inventoryDir);
    assert.deepEqual(left.filter((f) => f.startsWith('packer-provisioner-ansible')), []);
    const exe = text.match(/Executing Ansible: (.*)$/m)?.[1] ?? '';
    const key = /ansible_ssh_private_key_file=(\S+)/.exec(exe)?.[1];
    if (key) assert.equal(existsSync(key), false, 'the one-time key file is removed');
  }

  test('through the proxy, the reference template way: inventory dir, vault, -D, --scp-extra-args \'-O\'', async () => {
    const r = await runPlaybook('proxy-scp', {
      extra_arguments: [
        '-D',
        '--vault-password-file',
        join(FIXTURES, 'vault.pw'),
        '--scp-extra-args',
        "'-O'",
        '--extra-vars',
        "'ansible_python_interpreter=/usr/bin/python3'",
      ],
    });
    await checkResults(r);
    const text = r.ui.lines.join('\n');
    assert.match(text, /^ {4}test: Setting up proxy adapter for Ansible\.\.\.\.$/m);
    const exe = text.match(/^==> test: Executing Ansible: (.*)$/m)?.[1] ?? '';
    assert.match(
      exe,
      new RegExp(
        `^ansible-playbook -e packer_build_name="kiln-test" -e packer_builder_type=amazon-ebs ` +
          `--ssh-extra-args '-o IdentitiesOnly=yes' -D --vault-password-file \\S+/vault\\.pw ` +
          `--scp-extra-args '-O' --extra-vars 'ansible_python_interpreter=/usr/bin/python3' ` +
          `.* -e ansible_ssh_private_key_file=${tmpdir()}/ansible-key\\d+ ` +
          `-i ${inventoryDir}/packer-provisioner-ansible\\d+ ${FIXTURES}playbook\\.yml$`,
      ),
    );
  });

  test('through the proxy with SFTP transfers (OpenSSH 9 scp without -O, and use_sftp)', async () => {
    for (const [name, extra] of [
      ['proxy-scp-sftp', {}],
      ['proxy-sftp', { use_sftp: true }],
    ] as const) {
      const r = await runPlaybook(name, {
        ...extra,
        extra_arguments: ['-D', '--vault-password-file', join(FIXTURES, 'vault.pw')],
      });
      await checkResults(r);
    }
  });

  test('use_proxy false: ansible connects directly, through the bastion', async () => {
    const r = await runPlaybook(
      'direct',
      {
        use_proxy: false,
        extra_arguments: ['-D', '--vault-password-file', join(FIXTURES, 'vault.pw'), '--scp-extra-args', "'-O'"],
      },
      {
        ...data,
        SSHBastionHost: env.bastion.host,
        SSHBastionPort: String(env.bastion.port),
        SSHBastionUser: env.bastion.user,
        SSHBastionPrivateKeyFile: env.bastion.keyFile,
      },
    );
    await checkResults(r);
    const text = r.ui.lines.join('\n');
    assert.match(text, /Not using Proxy adapter for Ansible run:\n {4}test: \tUsing ssh keys from Packer communicator\.\.\./);
    assert.match(text, /ProxyCommand=ssh .*-W %h:%p/);
    assert.doesNotMatch(text, /Setting up proxy adapter/);
  });

  test('a failing playbook fails the provisioner with Packer\'s words', async () => {
    const bad = join(work, 'fail.yml');
    await fsp.writeFile(bad, '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: /bin/false\n');
    const p = create();
    await p.prepare([{ playbook_file: bad }], packerConfig(), {});
    const ui = recordingUi();
    await assert.rejects(p.provision({ ui, comm, data, signal: new AbortController().signal }), {
      message: 'Error executing Ansible: Non-zero exit status: exit status 2',
    });
    assert.match(ui.lines.join('\n'), /fatal: \[default\]: FAILED!/);
  });

  test('prepare: Packer\'s messages for bad files, ports and commands, all at once', async () => {
    const p = create();
    let err: unknown;
    try {
      await p.prepare(
        [
          {
            playbook_file: join(work, 'missing.yml'),
            inventory_directory: join(FIXTURES, 'playbook.yml'),
            galaxy_file: work,
            local_port: 70000,
            command: join(work, 'no-such-ansible'),
          },
        ],
        packerConfig(),
        {},
      );
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      `playbook_file: ${join(work, 'missing.yml')} is invalid: stat ${join(work, 'missing.yml')}: no such file or directory`,
      `galaxy_file: ${work} must point to a file`,
      'local_port: 70000 must be a valid port',
      `inventory_directory: ${join(FIXTURES, 'playbook.yml')} must point to a directory`,
      `Error running "${join(work, 'no-such-ansible')} --version": fork/exec ${join(work, 'no-such-ansible')}: no such file or directory`,
    ]);
    await assert.rejects(create().prepare([{}], packerConfig(), {}), /playbook_file must be specified\./);
  });

  test('galaxy: roles installed from a requirements file into roles_path, then used', async () => {
    const gdir = join(work, 'galaxy');
    await fsp.mkdir(gdir);
    const tgz = join(gdir, 'kiln_role.tar.gz');
    const t = await exec('tar', ['-czf', tgz, '-C', FIXTURES, 'galaxy-role']);
    assert.equal(t.code, 0, t.stderr);
    const req = join(gdir, 'requirements.yml');
    await fsp.writeFile(req, `- src: ${tgz}\n  name: kiln_role\n`);
    const pb = join(gdir, 'site.yml');
    await fsp.writeFile(pb, '- hosts: all\n  gather_facts: false\n  roles:\n    - kiln_role\n');
    const roles = join(gdir, 'roles');
    const p = create();
    await p.prepare(
      [
        {
          playbook_file: pb,
          galaxy_file: req,
          roles_path: roles,
          galaxy_force_install: true,
          ansible_env_vars: [`ANSIBLE_ROLES_PATH=${roles}`],
        },
      ],
      packerConfig(),
      {},
    );
    const ui = recordingUi();
    await p.provision({ ui, comm, data, signal: new AbortController().signal });
    const text = ui.lines.join('\n');
    assert.match(text, /^ {4}test: Executing Ansible Galaxy$/m);
    assert.match(text, /kiln_role was installed successfully/);
    assert.match(text, /TASK \[kiln_role : Say hello from the galaxy role\]/);
    assert.ok(existsSync(join(roles, 'kiln_role', 'tasks', 'main.yml')));

    await fsp.writeFile(req, '- src: /nonexistent/role.tar.gz\n  name: nope\n');
    const p2 = create();
    await p2.prepare([{ playbook_file: pb, galaxy_file: req, roles_path: roles }], packerConfig(), {});
    await assert.rejects(p2.provision({ ui: recordingUi(), comm, data, signal: new AbortController().signal }), {
      message: 'Error executing Ansible: Error executing Ansible Galaxy: Non-zero exit status: exit status 1',
    });
  });

  test('what ansible makes of the reference template\'s quoted arguments', async () => {
    // Packer passes "'-O'" and "'ansible_python_interpreter=/usr/bin/python3'" verbatim, and so does
    // kiln: ansible shlex-splits --scp-extra-args (→ -O) but parses --extra-vars as key=value, which
    // defines a variable literally named 'ansible_python_interpreter (leading quote) — a no-op.
    const pb = join(work, 'vars.yml');
    await fsp.writeFile(
      pb,
      "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: '{{ vars[\"''ansible_python_interpreter\"] }}'\n",
    );
    const r = await exec('ansible-playbook', [
      '-i',
      'localhost,',
      '-c',
      'local',
      '--extra-vars',
      "'ansible_python_interpreter=/usr/bin/python3'",
      pb,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /"msg": "\/usr\/bin\/python3'"/);
  });
});
