#!/usr/bin/env node
// Many builds at once (issue #7, part 4) on the shared lab (../shared/lab): one template with ten
// amazon-ebs builders (the lab's packer-local.json builder ten times, differing only in name, AMI
// name and Name tag), each with the reference provisioners (shell, then ansible with the lab's
// playbook, vaulted inventory directory, -D, --scp-extra-args '-O').
//
// Measured in the same run, alternating (the order rotates each round):
//   kiln    `kiln build` of the ten-builder template
//   packer  Packer 1.6.6 on the same template (it needs gp3 iops/throughput and the lab's
//           ANSIBLE_SSH_ARGS work-around, both already in the lab's template and env.sh)
//   floor   ten ansible-playbook runs started at once, directly over OpenSSH through the bastion
//           against the same instance sshd, with the same playbook, inventory directory, extra
//           arguments and environment (each with its own ControlPath directory, as ten different
//           hosts would have); the shell steps and the API part are not in the floor, so it is
//           the lower bound of the work that cannot be avoided
// Wall time; peak memory of the whole process tree (the sum of the RSS of every process below the
// command, sampled every 250 ms) and of its largest single process (/usr/bin/time -v); EC2 calls
// and errors from the lab proxy's log; how many builds made an AMI. Writes its section of
// docs/benchmarks.md.
// Usage: flock /tmp/kiln-bench.lock node bench/many-builds.mjs [runs=3] [--no-packer]
//        node bench/many-builds.mjs --render RESULTS_DIR   (rewrite the section from a finished run)
//        (needs `npx tsc -p .`, root, the lab's tools; starts and stops the lab itself)
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAverage, median, root, stopwatch, writeBenchSection } from './lib.mjs';

const lab = resolve(root, '../shared/lab');
const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const withPacker = !args.includes('--no-packer');
const BUILDS = 10;
const names = Array.from({ length: BUILDS }, (_, i) => `b${String(i + 1).padStart(2, '0')}`);
const renderFrom = args.includes('--render') ? args[args.indexOf('--render') + 1] : undefined;
if (renderFrom) {
  // Rewrite the docs section from an earlier run's results folder.
  writeSection(resolve(renderFrom));
  process.exit(0);
}
const out = mkdtempSync(join(tmpdir(), 'kiln-many-bench-'));
const work = join(out, 'build'); // a copy of the lab's build dir: tools write inventories there
cpSync(join(lab, 'build'), work, { recursive: true });

// The lab's environment (endpoints, agent, AWS keys, ANSIBLE_SSH_ARGS), as run-build.sh uses it.
execFileSync(join(lab, 'up.sh'), { stdio: 'ignore' });
const STATE = '/var/lib/packer-harness';
const labEnv = Object.fromEntries(
  execFileSync('bash', ['-c', `. ${STATE}/env.sh && env -0`], { encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const env = { ...process.env, ...labEnv };
delete env.PACKER_LOG;
const user = env.HARNESS_INSTANCE_USER;
const home = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5];

// The template: the lab's builder ten times over.
const local = JSON.parse(readFileSync(join(lab, 'build/packer-local.json'), 'utf8'));
const base = local.builders[0];
local.builders = names.map((name) => ({
  ...base,
  name,
  ami_name: `${base.ami_name}-${name}`,
  tags: { ...base.tags, Name: `${base.tags.Name}-${name}` },
}));
const template = join(work, 'many-builds.json');
writeFileSync(template, JSON.stringify(local, null, 2));

// The floor's own key, authorized on the instance like any user key; its inventory per run.
const key = join(out, 'floor_key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
const ansible = local.provisioners.find((p) => p.type === 'ansible');
const invDir = join(work, 'ansible/env/aws', env.env_name);
const jump = `ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -W %h:%p -p ${env.HARNESS_BASTION_PORT} ${env.USER}@${env.HARNESS_BASTION_HOST}`;
for (const name of names) {
  writeFileSync(
    join(invDir, `floor-${name}`),
    `${ansible.host_alias} ansible_host=${env.HARNESS_SSH_HOST} ansible_port=${env.HARNESS_SSH_PORT} ` +
      `ansible_user=${user} ansible_ssh_private_key_file=${key} ` +
      `ansible_ssh_common_args='-o ProxyCommand="${jump}"'\n`,
  );
}
// The extra arguments exactly as the tools pass them (each one word, quotes included: ansible
// splits --scp-extra-args "'-O'" itself).
const extra = ansible.extra_arguments.map((a) => a.replace(/\{\{user `env_name`\}\}/g, env.env_name));
const shq = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
const floorScript = join(out, 'floor.sh');
writeFileSync(
  floorScript,
  [
    '#!/bin/bash',
    'rc=0; pids=()',
    ...names.map(
      (n) =>
        `ANSIBLE_SSH_CONTROL_PATH_DIR=${out}/cp-${n} ANSIBLE_HOST_KEY_CHECKING=False ansible-playbook ` +
        `-e packer_build_name=${n} -e packer_builder_type=amazon-ebs ` +
        extra.map(shq).join(' ') +
        ` -i ${invDir}/floor-${n} ${ansible.playbook_file} > ${out}/floor-$RUN-${n}.log 2>&1 & pids+=($!)`,
    ),
    'for p in "${pids[@]}"; do wait "$p" || rc=1; done',
    'exit $rc',
    '',
  ].join('\n'),
);

/** Sum and count of the RSS of `pid` and every process below it (from /proc). */
function treeRss(pid) {
  const parent = new Map();
  const rss = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      rss.set(Number(d), Number(f[21]) * 4096);
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [p] of rss) {
    for (let q = p; q > 1; q = parent.get(q) ?? 0) {
      if (q === pid) {
        sum += rss.get(p);
        break;
      }
    }
  }
  return sum;
}

/** Runs `cmd` under /usr/bin/time -v in the build dir; wall time, peak memory, output. */
function measure(label, cmd, cmdArgs, extraEnv = {}) {
  return new Promise((done) => {
    const timeFile = join(out, `${label}.time`);
    const elapsed = stopwatch();
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, cmd, ...cmdArgs], {
      cwd: work,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    let peakTree = 0;
    const sample = setInterval(() => (peakTree = Math.max(peakTree, treeRss(child.pid))), 250);
    child.on('close', (code) => {
      const seconds = elapsed() / 1000;
      clearInterval(sample);
      writeFileSync(join(out, `${label}.out`), text);
      const timeV = readFileSync(timeFile, 'utf8');
      const maxOne = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(timeV)?.[1] ?? NaN) / 1024;
      const cpu = ['User', 'System'].reduce(
        (t, k) => t + Number(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`).exec(timeV)?.[1] ?? NaN),
        0,
      );
      done({ seconds, code, text, treeMiB: peakTree / 2 ** 20, maxOneMiB: maxOne, cpu });
    });
  });
}

function freshInstance(authorize) {
  // "boot fresh instances": nothing left on the instance from earlier builds
  writeFileSync(join(home, '.ssh/authorized_keys'), authorize ? readFileSync(`${key}.pub`, 'utf8') : '');
}

const apiLog = join(STATE, 'logs/ec2-api.jsonl');
const apiLines = () => readFileSync(apiLog, 'utf8').split('\n').filter(Boolean);

async function runTool(tool, i) {
  freshInstance(tool === 'floor');
  const before = apiLines().length;
  const label = `${tool}-${i}`;
  let r;
  if (tool === 'floor') r = await measure(label, 'bash', [floorScript], { RUN: String(i) });
  else if (tool === 'kiln')
    r = await measure(label, process.execPath, [join(root, 'bin/kiln'), 'build', '-color=false', template]);
  else r = await measure(label, 'packer', ['build', '-color=false', template]);
  const calls = apiLines()
    .slice(before)
    .map((l) => JSON.parse(l));
  const ok =
    tool === 'floor'
      ? names.filter((n) => /failed=0/.test(readFileSync(join(out, `floor-${i}-${n}.log`), 'utf8'))).length
      : (r.text.match(/AMIs were created:/g) ?? []).length;
  const row = {
    tool,
    seconds: r.seconds,
    code: r.code,
    ok,
    treeMiB: r.treeMiB,
    maxOneMiB: r.maxOneMiB,
    cpu: r.cpu,
    calls: calls.length,
    errors: calls.filter((c) => c.status >= 400).length,
    throttled: calls.filter((c) => /Throttl|RequestLimitExceeded/.test(c.error_code ?? '')).length,
  };
  console.log(
    `${label}: ${row.seconds.toFixed(1)} s, exit ${row.code}, ${ok}/${BUILDS} ok, tree peak ${row.treeMiB.toFixed(0)} MiB, ` +
      `largest process ${row.maxOneMiB.toFixed(0)} MiB, CPU ${row.cpu.toFixed(1)} s, ${row.calls} EC2 calls (${row.errors} errors), load ${load()}`,
  );
  appendFileSync(join(out, 'rows.jsonl'), JSON.stringify(row) + '\n');
  return row;
}

const load = loadAverage;

/**
 * A paragraph per failed build of the kiln and Packer runs in a results folder (the closing list of
 * each `<tool>-<round>.out` names a failed build with its error: "--> b07: Error uploading script: …"),
 * with the cause when it is a known one.
 */
function failureLines(dir, rows) {
  const out = [];
  for (const tool of ['kiln', 'packer']) {
    (rows[tool] ?? []).forEach((_, k) => {
      let text = '';
      try {
        text = readFileSync(join(dir, `${tool}-${k + 1}.out`), 'utf8');
      } catch {
        return;
      }
      const failures = [...text.matchAll(/^--> (\S+): (.+)$/gm)]
        .filter((m) => !m[2].startsWith('AMIs were created'))
        .map((m) => `${m[1]}: ${m[2]}`);
      for (const f of failures) {
        const who = tool === 'kiln' ? 'kiln' : 'Packer 1.6.6';
        let line = `Failed in ${who}'s round ${k + 1}: \`${f}\`.`;
        if (/script_\d+\.sh: Permission denied/.test(f))
          line +=
            " The lab's instance is this machine, whose `/tmp` holds other users' leftover `script_<n>.sh` files (`/tmp` is sticky):" +
            ' Packer draws n from 0–9998 and met one (then retried the upload until `start_retry_timeout`, 5 minutes);' +
            ' kiln draws n from 0–2³¹ (docs/compatibility.md).';
        out.push('', line);
      }
    });
  }
  return out;
}

const tools = withPacker ? ['floor', 'kiln', 'packer'] : ['floor', 'kiln'];
const rows = Object.fromEntries(tools.map((t) => [t, []]));
const loadBefore = load();
const rounds = [];
try {
  for (let i = 1; i <= runs; i++) {
    const order = tools.map((_, k) => tools[(k + i - 1) % tools.length]);
    const round = {};
    for (const t of order) {
      round[t] = await runTool(t, i);
      rows[t].push(round[t]);
    }
    rounds.push(round);
  }
} finally {
  freshInstance(false);
  execFileSync(join(lab, 'down.sh'), { stdio: 'ignore' });
}

writeFileSync(
  join(out, 'meta.json'),
  JSON.stringify({ tools, loadBefore, loadAfter: load(), date: new Date().toISOString().slice(0, 10) }),
);
writeSection(out);

/** Writes the docs section from a results folder (rows.jsonl in run order, meta.json, the time -v files). */
function writeSection(dir) {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const { tools, loadBefore, loadAfter, date } = meta;
  const withPacker = tools.includes('packer');
  const rows = Object.fromEntries(tools.map((t) => [t, []]));
  const rounds = [];
  for (const l of readFileSync(join(dir, 'rows.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const row = JSON.parse(l);
    rows[row.tool].push(row);
    const i = rows[row.tool].length;
    if (row.cpu === undefined) {
      const timeV = readFileSync(join(dir, `${row.tool}-${i}.time`), 'utf8');
      row.cpu = ['User', 'System'].reduce(
        (t, k) => t + Number(new RegExp(`${k} time \\(seconds\\): ([\\d.]+)`).exec(timeV)?.[1] ?? NaN),
        0,
      );
    }
    (rounds[i - 1] ??= {})[row.tool] = row;
  }
  const med = (t, k) => median(rows[t].map((r) => r[k]));
  const line = (label, t) => {
    const rs = rows[t];
    const good = rs.filter((r) => r.code === 0 && r.ok === BUILDS).length;
    return (
      `| ${label} | ${med(t, 'seconds').toFixed(1)} s | ${rs.map((r) => r.seconds.toFixed(1)).join(', ')} | ` +
      `${(med(t, 'seconds') / med('floor', 'seconds')).toFixed(2)}× | ${med(t, 'treeMiB').toFixed(0)} MiB | ` +
      `${med(t, 'maxOneMiB').toFixed(0)} MiB | ${med(t, 'cpu').toFixed(0)} s | ${t === 'floor' ? '—' : `${med(t, 'calls')} (${Math.max(...rs.map((r) => r.errors))} errors)`} | ${good}/${rs.length} |`
    );
  };
  const perRound = rounds.map((r) => (r.kiln.seconds / r.floor.seconds).toFixed(2)).join(', ');
  const kilnRatio = med('kiln', 'seconds') / med('floor', 'seconds');
  const section = [
    `\`bench/many-builds.mjs\`, ${date}, ${rounds.length} rounds (order rotating each round), the shared lab`,
    `(moto, instance sshd, bastion, ssh-agent on 127.0.0.1), one template with ${BUILDS} amazon-ebs builders (the lab's`,
    '`packer-local.json` builder with its shell and ansible provisioners, differing only in name, AMI name and Name tag).',
    `The floor: ${BUILDS} \`ansible-playbook\` runs started at once, directly over OpenSSH through the bastion, same playbook,`,
    'inventory directory, extra arguments and environment, each with its own ControlPath directory (as ten hosts would have);',
    "it has no shell steps and no EC2 API part. Peak memory: the sum of the RSS of every process of the command's tree",
    '(sampled every 250 ms) and the largest single process (`/usr/bin/time -v`); CPU: user + system seconds of the whole tree',
    '(`/usr/bin/time -v`, ansible-playbook and ssh included).',
    `Load average before ${loadBefore}, after ${loadAfter} (2 cores; a shared machine: compare rows of one run only).`,
    '',
    '| what | median wall | runs | / floor | peak memory, whole tree (sum) | largest process | CPU (user+sys, whole tree) | EC2 calls | runs with all builds done |',
    '|---|---|---|---|---|---|---|---|---|',
    line(`floor: ${BUILDS} × ansible-playbook over OpenSSH`, 'floor'),
    line(`kiln, ${BUILDS} builders`, 'kiln'),
    ...(withPacker ? [line(`Packer 1.6.6, ${BUILDS} builders`, 'packer')] : []),
    '',
    `**kiln / floor: ${kilnRatio.toFixed(2)}×** (median of the runs; target ≤ 1.15×); per round: ${perRound}.` +
      (withPacker
        ? ` kiln / Packer: ${(med('kiln', 'seconds') / med('packer', 'seconds')).toFixed(2)}×.`
        : ''),
    ...failureLines(dir, rows),
    ...(meta.notes ?? []).flatMap((n) => ['', n]),
    '',
    "Where kiln's own time goes with ten builds (a CPU profile, `node --cpu-prof`, of the kiln process building",
    'examples/aws-ami ten times at once on the test environment, at load ~20, so system calls are over-represented):',
    'writing to sockets is the largest part of its main thread, about half SSH packets to the instances (already',
    "batched per tick, one writev) and half the ansible proxy's SSH server (src/adapter), which writes each SSH packet",
    'with its own system call; then ssh2 packet crypto and padding, garbage collection (~6 %) and the EC2 SDK.',
    'The ten builds share one Node process, so the EC2 SDK and ssh2 load once.',
  ].join('\n');

  writeBenchSection('many-builds', section);
  console.log(section);
  console.log(`wrote docs/benchmarks.md (results in ${dir})`);
}
