/**
 * `kiln build` with the null builder reaching the tests' sshd through the bastion (agent auth) and
 * the ansible provisioner with use_proxy false: ansible's own ssh must go through the same bastion,
 * which kiln hands it through the build's generated data (SSHBastionHost/Port/User).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln, type KilnResult } from '../env/kiln-cli.js';
import { startSshEnv, type SshEnv } from '../env/ssh-env.js';

let env: SshEnv;
let dir: string;
before(async () => {
  env = await startSshEnv();
  dir = await mkdtemp(join(tmpdir(), 'kiln-bastion-ansible-'));
});
after(async () => {
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function kiln(args: string[]): Promise<KilnResult> {
  return runKiln(args, { cwd: dir, env: { SSH_AUTH_SOCK: env.agentSock } });
}

test('ansible with use_proxy false goes through the build bastion', async () => {
  await writeFile(
    join(dir, 'play.yml'),
    '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.shell: echo reached-$(whoami)\n      register: r\n    - ansible.builtin.debug: { var: r.stdout }\n',
  );
  await writeFile(
    join(dir, 't.json'),
    JSON.stringify({
      builders: [
        {
          type: 'null',
          ssh_host: env.host,
          ssh_port: env.port,
          ssh_username: env.user,
          ssh_private_key_file: env.keyFile,
          ssh_bastion_host: env.bastion.host,
          ssh_bastion_port: env.bastion.port,
          ssh_bastion_username: env.bastion.user,
          ssh_bastion_agent_auth: true,
          ssh_timeout: '20s',
        },
      ],
      provisioners: [{ type: 'ansible', playbook_file: 'play.yml', use_proxy: false }],
    }),
  );
  const { code, out } = await kiln(['build', '-color=false', 't.json']);
  assert.equal(code, 0, out);
  assert.match(out, /ProxyCommand=ssh [^\n]*-W %h:%p[^\n]*@127\.0\.0\.1/, out);
  assert.match(out, new RegExp(`"r.stdout": "reached-${env.user}"`), out);
});
