/**
 * The ansible options the reference-template tests do not touch, with real ansible-playbook through
 * kiln's proxy: local_port, ssh_host_key_file (checked by ansible's ssh against a known_hosts entry),
 * ssh_authorized_key_file, user, groups, empty_groups, host_alias, keep_inventory_file,
 * skip_version_check, sftp_command with use_sftp, ansible_proxy_key_type, inventory_file; and the
 * proxy is gone once the provisioner returns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { freePort, startSshEnv, type SshEnv } from '../env/ssh-env.js';
import type { Communicator, GeneratedData, PackerConfig } from '../../src/core/types.js';
import { create } from '../../src/provisioners/ansible/index.js';
import { connectComm, exec, recordingUi, tempDir } from './helpers.js';
import { packerConfigWith } from '../../src/core/packer-config.js';

function packerConfig(dir: string): PackerConfig {
  return packerConfigWith({
    buildName: 'opts',
    builderType: 'null',
    templatePath: join(dir, 'template.json'),
    initTime: new Date(),
    runUuid: '00000000-0000-0000-0000-000000000000',
  });
}

describe('ansible options (real ansible-playbook through the proxy)', () => {
  let env: SshEnv;
  let comm: Communicator;
  let dir: string;
  let data: GeneratedData;

  before(async () => {
    env = await startSshEnv({ recordCommands: false });
    comm = await connectComm(env);
    dir = await tempDir('kiln-ansible-options');
    data = {
      ID: 'i-opts',
      Host: env.host,
      Port: String(env.port),
      User: env.user,
      ConnType: 'ssh',
      SSHPrivateKey: await fsp.readFile(env.keyFile, 'utf8'),
      SSHPrivateKeyFile: '',
      SSHAgentAuth: 'false',
    };
  });

  after(async () => {
    await comm?.close();
    await env?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  test('local_port, own host and user keys, groups, kept inventory, sftp_command; the port is closed afterwards', async () => {
    const port = await freePort();
    for (const k of ['host', 'user']) {
      const r = await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const hostPub = (await fsp.readFile(join(dir, 'host.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    const knownHosts = join(dir, 'known_hosts');
    await fsp.writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
    const invDir = join(dir, 'inv');
    await fsp.mkdir(join(invDir, 'group_vars'), { recursive: true });
    await fsp.writeFile(join(invDir, 'group_vars', 'web.yml'), 'role_from_group: webserver\n');
    const pb = join(dir, 'groups.yml');
    await fsp.writeFile(
      pb,
      [
        '- hosts: web',
        '  gather_facts: false',
        '  tasks:',
        '    - debug:',
        '        msg: "alias={{ inventory_hostname }} groups={{ group_names | join(\',\') }} role={{ role_from_group }} port={{ ansible_port }} user={{ ansible_user }}"',
        '    - copy:',
        '        content: "via sftp_command\\n"',
        `        dest: ${join(env.home, 'kiln-opts-sftp.txt')}`,
        '',
      ].join('\n'),
    );
    await fsp.rm(join(env.home, 'kiln-opts-sftp.txt'), { force: true });
    const p = create();
    await p.prepare(
      [
        {
          playbook_file: pb,
          local_port: port,
          ssh_host_key_file: join(dir, 'host'),
          ssh_authorized_key_file: join(dir, 'user.pub'),
          user: env.user,
          host_alias: 'builder',
          groups: ['web', 'db'],
          empty_groups: ['spare'],
          inventory_directory: invDir,
          keep_inventory_file: true,
          skip_version_check: true,
          use_sftp: true,
          sftp_command: '/usr/lib/openssh/sftp-server -e',
          ansible_proxy_key_type: 'ecdsa',
          // Without a one-time key kiln (like Packer) passes no --ssh-extra-args: the user's own go
          // in extra_arguments, and ansible's ssh checks the proxy's host key against known_hosts.
          ansible_ssh_extra_args: ['-o ThisIsNotPassed=yes'],
          ansible_env_vars: [`ANSIBLE_SSH_CONTROL_PATH_DIR=${join(dir, 'cp')}`, 'ANSIBLE_NOCOLOR=1'],
          extra_arguments: [
            '--private-key',
            join(dir, 'user'),
            '--ssh-extra-args',
            `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts}`,
          ],
        },
      ],
      packerConfig(dir),
      {},
    );
    const ui = recordingUi();
    await p.provision({ ui, comm, data, signal: new AbortController().signal });
    const text = ui.lines.join('\n');
    assert.match(
      text,
      new RegExp(`alias=builder groups=db,web role=webserver port=${port} user=${env.user}`),
    );
    assert.equal(await fsp.readFile(join(env.home, 'kiln-opts-sftp.txt'), 'utf8'), 'via sftp_command\n');
    // No one-time key: ansible got no ansible_ssh_private_key_file (its --private-key is the user's).
    assert.doesNotMatch(text, /ansible_ssh_private_key_file|ThisIsNotPassed/);
    const kept = (await fsp.readdir(invDir)).filter((f) => f.startsWith('packer-provisioner-ansible'));
    assert.equal(kept.length, 1, 'keep_inventory_file keeps the generated inventory');
    const line = `builder ansible_host=127.0.0.1 ansible_user=${env.user} ansible_port=${port}\n`;
    assert.equal(
      await fsp.readFile(join(invDir, kept[0]), 'utf8'),
      `${line}[web]\n${line}[db]\n${line}[spare]\n`,
    );
    const ss = await exec('ss', ['-Hltn', `sport = :${port}`]);
    assert.equal(ss.stdout.trim(), '', 'nothing listens on local_port once the provisioner returned');
  });

  test('inventory_file is used as is (no inventory written), the hosts it names are targeted', async () => {
    const inv = join(dir, 'static.ini');
    await fsp.writeFile(inv, `[all]\nnamed-host ansible_connection=local\n`);
    const pb = join(dir, 'static.yml');
    await fsp.writeFile(
      pb,
      '- hosts: named-host\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "static {{ inventory_hostname }}"\n',
    );
    const p = create();
    await p.prepare(
      [{ playbook_file: pb, inventory_file: inv, skip_version_check: true }],
      packerConfig(dir),
      {},
    );
    const ui = recordingUi();
    await p.provision({ ui, comm, data, signal: new AbortController().signal });
    const text = ui.lines.join('\n');
    assert.match(text, /"msg": "static named-host"/);
    assert.match(text, new RegExp(`-i ${inv} ${pb}$`, 'm'));
  });
});
