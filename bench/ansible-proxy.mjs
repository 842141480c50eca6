#!/usr/bin/env node
// The same playbook (test/ansible/fixtures/playbook.yml: facts, vaulted group var from the inventory
// directory, become, -D, a file up and down with `--scp-extra-args '-O'`, a task delegated to
// localhost) run by real ansible-playbook against the test sshd (test/env/ssh-env.ts, 127.0.0.1):
//   proxy:  kiln's ansible provisioner (one-time keys, the local SSH proxy, kiln's SSH communicator)
//   direct: ansible-playbook straight over OpenSSH to the same sshd, same arguments
// Runs interleaved (the order alternates each round), each with a fresh ControlPath directory so every
// run pays its own connection set-up. Reports medians and the paired ratio proxy/direct. The communicator is
// connected once beforehand, as in a build (the connection belongs to the builder's steps).
// Writes its section of docs/benchmarks.md between the bench:ansible-proxy markers.
// Usage (root, after `npm run build`): node bench/ansible-proxy.mjs [runs]
import { spawn } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, root, stopwatch, writeBenchSection } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
const fixtures = join(root, 'test/ansible/fixtures');
const { startSshEnv } = await import(join(root, 'dist/test/env/ssh-env.js'));
const { connectSsh } = await import(join(root, 'dist/src/communicator/ssh/index.js'));
const { create } = await import(join(root, 'dist/src/provisioners/ansible/index.js'));

const work = await fsp.mkdtemp(join(tmpdir(), 'kiln-bench-ansible-'));
const inventoryDir = join(work, 'inventory');
await fsp.cp(join(fixtures, 'inventory'), inventoryDir, { recursive: true });
const env = await startSshEnv({ recordCommands: false });
const comm = await connectSsh({
  host: env.host,
  port: env.port,
  username: env.user,
  privateKeys: [readFileSync(env.keyFile)],
});

const reference = ['-D', '--vault-password-file', join(fixtures, 'vault.pw'), '--scp-extra-args', "'-O'"];
function vars(tag) {
  const out = join(work, tag);
  return {
    out,
    args: [
      ['marker_path', join(env.home, `bench-marker-${tag}.json`)],
      ['upload_path', join(env.home, `bench-upload-${tag}.txt`)],
      ['fetch_dir', out],
      ['delegated_path', join(out, 'delegated.txt')],
    ].flatMap(([k, v]) => ['-e', `${k}=${v}`]),
  };
}

const pc = {
  buildName: 'bench',
  builderType: 'amazon-ebs',
  coreVersion: '1.6.6',
  debug: false,
  force: false,
  onError: 'cleanup',
  templatePath: join(work, 'template.json'),
  userVariables: {},
  sensitive: [],
  initTime: new Date(),
  runUuid: '00000000-0000-0000-0000-000000000000',
};
const data = {
  ID: 'i-bench',
  Host: env.host,
  Port: String(env.port),
  User: env.user,
  ConnType: 'ssh',
  SSHPrivateKey: readFileSync(env.keyFile, 'utf8'),
  SSHPrivateKeyFile: '',
  SSHAgentAuth: 'false',
  PackerHTTPAddr: 'ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER',
};

async function viaProxy(tag) {
  const v = vars(tag);
  await fsp.mkdir(v.out);
  const p = create();
  await p.prepare(
    [
      {
        playbook_file: join(fixtures, 'playbook.yml'),
        inventory_directory: inventoryDir,
        host_alias: 'packer',
        ansible_env_vars: [`ANSIBLE_SSH_CONTROL_PATH_DIR=${join(v.out, 'cp')}`],
        extra_arguments: [...reference, ...v.args],
        skip_version_check: true,
      },
    ],
    pc,
    {},
  );
  const lines = [];
  const ui = {
    say: (m) => lines.push(m),
    message: (m) => lines.push(m),
    error: (m) => lines.push(m),
    machine: () => {},
    ask: () => Promise.reject(new Error('no tty')),
  };
  const elapsed = stopwatch();
  await p.provision({ ui, comm, data, signal: new AbortController().signal }).catch((e) => {
    throw new Error(`proxy run failed: ${e.message}\n${lines.join('\n')}`);
  });
  return elapsed();
}

async function direct(tag) {
  const v = vars(tag);
  await fsp.mkdir(v.out);
  const inv = join(inventoryDir, `bench-direct-${tag}`);
  await fsp.writeFile(
    inv,
    `packer ansible_host=${env.host} ansible_user=${env.user} ansible_port=${env.port}\n`,
  );
  const args = [
    '-e',
    'packer_build_name="bench"',
    '-e',
    'packer_builder_type=amazon-ebs',
    '--ssh-extra-args',
    "'-o IdentitiesOnly=yes'",
    ...reference,
    ...v.args,
    '-e',
    `ansible_ssh_private_key_file=${env.keyFile}`,
    '-i',
    inv,
    join(fixtures, 'playbook.yml'),
  ];
  const childEnv = {
    ...process.env,
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(v.out, 'cp'),
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_SCP_IF_SSH: 'True',
  };
  const elapsed = stopwatch();
  const { code, out } = await new Promise((res) => {
    const c = spawn('ansible-playbook', args, { env: childEnv });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => res({ code, out }));
  });
  const ms = elapsed();
  await fsp.rm(inv);
  if (code !== 0) throw new Error(`direct run failed (${code}):\n${out}`);
  return ms;
}

const proxy = [];
const plain = [];
const failures = [];
try {
  // one warm-up of each (python bytecode, sudo caches), not counted
  await viaProxy('warm-proxy');
  await direct('warm-direct');
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? ['direct', 'proxy'] : ['proxy', 'direct'];
    const round = {};
    for (const which of order) {
      try {
        round[which] = which === 'proxy' ? await viaProxy(`p${i}`) : await direct(`d${i}`);
        console.error(`${which} run ${i + 1}: ${round[which].toFixed(0)} ms`);
      } catch (e) {
        failures.push(
          `${which} run ${i + 1}: ${e.message
            .split('\n')
            .filter((l) => /fatal|UNREACHABLE|failed:/.test(l))
            .join(' ')}`,
        );
        console.error(failures.at(-1));
      }
    }
    if (round.proxy !== undefined && round.direct !== undefined) {
      proxy.push(round.proxy);
      plain.push(round.direct);
    }
  }
} finally {
  await comm.close();
  await env.stop();
  await fsp.rm(work, { recursive: true, force: true });
}

const mp = median(proxy);
const md = median(plain);
// Each round's two runs ran back to back, so their ratio cancels the machine's load drift
// between rounds; the median of those paired ratios is the figure reported.
const paired = proxy.map((p, i) => p / plain[i]);
const ratio = median(paired);
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const ansibleVersion = await new Promise((res) => {
  const c = spawn('ansible-playbook', ['--version']);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('close', () => res(o.split('\n')[0].trim()));
});
const section = [
  `\`bench/ansible-proxy.mjs\`, ${new Date().toISOString().slice(0, 10)}, ${runs} interleaved runs each (after one`,
  `warm-up each), ${ansibleVersion}, OpenSSH sshd on 127.0.0.1, ${cpus().length} cores, load average at`,
  `the end ${loadavg()[0].toFixed(1)}. The playbook: facts, vaulted group var, become, \`-D\`, one 300 kB file`,
  `up (\`--scp-extra-args '-O'\`) and back down, one task delegated to localhost.`,
  '',
  '| how ansible reaches the machine | median | runs |',
  '|---|---|---|',
  `| kiln's proxy (ansible provisioner: keys, proxy, inventory, ansible-playbook) | ${fmt(mp)} | ${proxy.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
  `| ansible-playbook directly over OpenSSH | ${fmt(md)} | ${plain.map((x) => (x / 1000).toFixed(2)).join(', ')} |`,
  '',
  `Ratio of each round (proxy / direct, run back to back): ${paired.map((r) => r.toFixed(2)).join(', ')}.`,
  `**Ratio proxy / direct (median of the rounds): ${ratio.toFixed(2)}×** (target ≤ 1.15×); ratio of the`,
  `medians: ${(mp / md).toFixed(2)}×. Other work shared the machine during the runs, hence the spread.`,
  ...(failures.length ? ['', `Failed runs (their round is left out): ${failures.join('; ')}.`] : []),
].join('\n');

writeBenchSection('ansible-proxy', section);
console.log(section);
