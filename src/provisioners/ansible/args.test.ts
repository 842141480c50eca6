import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  commandArgs,
  galaxyArgs,
  goQuote,
  inventoryContent,
  inventoryLine,
  parseAnsibleVersion,
  sshExtraArgsValue,
  type CommandArgsInput,
} from './args.js';

const base: CommandArgsInput = {
  buildName: 'amazon-ebs',
  builderType: 'amazon-ebs',
  connType: 'ssh',
  privateKeyFile: '/tmp/ansible-key123',
  sshExtraArgs: [],
  extraArguments: ['-D', '--scp-extra-args', "'-O'"],
  envVars: [],
  inventoryFile: '/inv/packer-provisioner-ansible42',
  playbookFile: '/abs/playbook.yml',
};

test('the command line in Packer\'s order (§D.5), extra arguments verbatim', () => {
  assert.deepEqual(commandArgs(base), [
    '-e',
    'packer_build_name="amazon-ebs"',
    '-e',
    'packer_builder_type=amazon-ebs',
    '--ssh-extra-args',
    "'-o IdentitiesOnly=yes'",
    '-D',
    '--scp-extra-args',
    "'-O'",
    '-e',
    'ansible_ssh_private_key_file=/tmp/ansible-key123',
    '-i',
    '/inv/packer-provisioner-ansible42',
    '/abs/playbook.yml',
  ]);
});

test('no build name, an HTTP address, no key file', () => {
  const a = commandArgs({ ...base, buildName: '', httpAddr: '10.0.0.1:8080', privateKeyFile: '', extraArguments: [] });
  assert.deepEqual(a, [
    '-e',
    'packer_builder_type=amazon-ebs',
    '-e',
    'packer_http_addr=10.0.0.1:8080',
    '-i',
    '/inv/packer-provisioner-ansible42',
    '/abs/playbook.yml',
  ]);
});

test('an ansible_password in the arguments replaces the key and turns off host key checking', () => {
  const a = commandArgs({ ...base, extraArguments: ['-e', 'ansible_password=x'] });
  assert.ok(!a.some((x) => x.startsWith('ansible_ssh_private_key_file')));
  assert.deepEqual(a.slice(-5), ['-e', 'ansible_host_key_checking=False', '-i', base.inventoryFile, base.playbookFile]);
  const b = commandArgs({ ...base, extraArguments: ['-e', 'ansible_password=x'], envVars: ['ANSIBLE_HOST_KEY_CHECKING=True'] });
  assert.ok(!b.includes('ansible_host_key_checking=False'));
});

test('winrm direct mode hands ansible the password unless one is given', () => {
  const a = commandArgs({ ...base, connType: 'winrm', privateKeyFile: '', winrmPassword: 'pw', extraArguments: [] });
  assert.deepEqual(a.slice(4, 6), ['-e', 'ansible_password=pw']);
});

test('--ssh-extra-args: Packer\'s default text; each element contributes its own arguments', () => {
  assert.equal(sshExtraArgsValue([]), "'-o IdentitiesOnly=yes'");
  assert.equal(
    sshExtraArgsValue(['-o IdentitiesOnly=yes -o HostKeyAlgorithms=+ssh-rsa']),
    "'-o IdentitiesOnly=yes -o HostKeyAlgorithms=+ssh-rsa'",
  );
  assert.equal(sshExtraArgsValue(['-o A=1', '-o B=2']), "'-o A=1 -o B=2'");
});

test('inventory: the host line, groups with the line, empty groups (§D.6 example)', () => {
  const line = inventoryLine({
    hostAlias: 'default',
    host: '127.0.0.1',
    port: '41235',
    user: 'alice',
    groups: ['web'],
    emptyGroups: ['spare'],
    ansibleMajor: 2,
    winrm: false,
  });
  assert.equal(
    inventoryContent(line, ['web'], ['spare']),
    'default ansible_host=127.0.0.1 ansible_user=alice ansible_port=41235\n[web]\ndefault ansible_host=127.0.0.1 ansible_user=alice ansible_port=41235\n[spare]\n',
  );
  const v1 = inventoryLine({ hostAlias: 'h', host: 'x', port: '22', user: 'u', groups: [], emptyGroups: [], ansibleMajor: 1, winrm: false });
  assert.equal(v1, 'h ansible_ssh_host=x ansible_ssh_user=u ansible_ssh_port=22\n');
});

test('galaxy: roles, collections, or both, with -f and -p', () => {
  const g = (text: string) =>
    galaxyArgs({ file: 'req.yml', text, force: true, rolesPath: 'roles', collectionsPath: 'cols' });
  assert.deepEqual(g('- src: x\n'), [['install', '-r', 'req.yml', '-f', '-p', 'roles']]);
  assert.deepEqual(g('collections:\n  - a.b\n'), [['collection', 'install', '-r', 'req.yml', '-f', '-p', 'cols']]);
  assert.equal(g('roles:\n  - x\ncollections:\n  - a.b\n').length, 2);
});

test('version parsing: old and core-style outputs', () => {
  assert.deepEqual(parseAnsibleVersion('ansible-playbook 2.9.6\n  config file = None'), { version: '2.9.6', major: 2 });
  assert.deepEqual(parseAnsibleVersion('ansible-playbook [core 2.14.18]\n'), { version: '2.14.18', major: 2 });
  assert.equal(parseAnsibleVersion('nothing here'), undefined);
});

test('goQuote is Go\'s %q for names', () => {
  assert.equal(goQuote('amazon-ebs'), '"amazon-ebs"');
  assert.equal(goQuote('a "b"\n'), '"a \\"b\\"\\n"');
});
