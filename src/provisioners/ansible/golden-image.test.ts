import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkPlaybook, goldenImageChecksDisabled } from './golden-image.js';

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-golden-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

test('mapping form, FQCN and k=v form are found with line and column', async () => {
  const dir = await tree({
    'site.yml': [
      '- hosts: all',
      '  tasks:',
      '    - name: a',
      '      ansible.builtin.service:',
      '        name: nginx',
      '        state: started',
      '    - service: name=cron state=restarted',
      '    - ansible.legacy.systemd: { name: x, state: reloaded }',
      '',
    ].join('\n'),
  });
  try {
    const w = await checkPlaybook(join(dir, 'site.yml'));
    assert.equal(w.length, 3);
    assert.match(w[0]!, new RegExp(`^${join(dir, 'site.yml')}:6:16: .*service "nginx" to state "started"`));
    assert.match(w[1]!, /site\.yml:7:7: .*"cron" to state "restarted"/);
    assert.match(w[2]!, /site\.yml:8:49: .*state "reloaded".*enabled: true/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('enabled only and stopped give no warning', async () => {
  const dir = await tree({
    'site.yml':
      '- hosts: all\n  tasks:\n    - systemd: {name: a, enabled: true}\n    - service: name=b state=stopped\n    - debug: msg=state=started\n',
  });
  try {
    assert.deepEqual(await checkPlaybook(join(dir, 'site.yml')), []);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('blocks, handlers, import_tasks, roles and import_playbook are followed', async () => {
  const dir = await tree({
    'site.yml': [
      '- import_playbook: other.yml',
      '- hosts: all',
      '  roles: [web, {role: db}]',
      '  pre_tasks:',
      '    - block:',
      '        - rescue:',
      '            - service: name=pre state=started',
      '  tasks:',
      '    - import_tasks: inc/more.yml',
      '  handlers:',
      '    - service: name=h state=restarted',
      '',
    ].join('\n'),
    'other.yml': '- hosts: all\n  post_tasks:\n    - service: name=imported state=started\n',
    'inc/more.yml': '- include_tasks: {file: deeper.yml}\n',
    'inc/deeper.yml': '- always:\n    - systemd_service: name=deep state=started\n',
    'roles/web/tasks/main.yml': '- service: name=web state=started\n',
    'rp/db/tasks/main.yml': '- service: name=db state=started\n',
  });
  try {
    const w = await checkPlaybook(join(dir, 'site.yml'), [join(dir, 'rp')]);
    const names = w.map((s) => /service "(\w+)"/.exec(s)?.[1]);
    assert.deepEqual(names, ['imported', 'pre', 'web', 'db', 'deep', 'h']);
    assert.match(w[4]!, /inc\/deeper\.yml:2:7:/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('KILN_NO_GOLDEN_IMAGE_CHECKS switch', () => {
  assert.equal(goldenImageChecksDisabled({}), false);
  assert.equal(goldenImageChecksDisabled({ KILN_NO_GOLDEN_IMAGE_CHECKS: '1' }), true);
  assert.equal(goldenImageChecksDisabled({ KILN_NO_GOLDEN_IMAGE_CHECKS: '0' }), false);
});

test('kiln validate warns, exits 0, and can be switched off', async () => {
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  const dir = await tree({
    'pb.yml': '- hosts: all\n  tasks:\n    - service: name=nginx state=started\n',
  });
  const tpl = (extra: string): string =>
    JSON.stringify({
      builders: [{ type: 'null', communicator: 'none' }],
      provisioners: [
        JSON.parse(`{"type":"ansible","playbook_file":${JSON.stringify(join(dir, 'pb.yml'))},"skip_version_check":true${extra}}`),
      ],
    });
  await writeFile(join(dir, 'on.json'), tpl(''));
  await writeFile(join(dir, 'off.json'), tpl(',"golden_image_checks":false'));
  const run = (f: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'bin/kiln'), 'validate', join(dir, f)], {
      encoding: 'utf8',
      env: { ...process.env, KILN_NO_GOLDEN_IMAGE_CHECKS: '', ...env },
    });
  try {
    const on = run('on.json');
    assert.equal(on.status, 0, on.stderr + on.stdout);
    const out = on.stdout + on.stderr;
    assert.match(out, /Warning when preparing build: "null"/);
    assert.match(out, /pb\.yml:3:7: golden image: .*"nginx"/);
    for (const r of [run('off.json'), run('on.json', { KILN_NO_GOLDEN_IMAGE_CHECKS: '1' })]) {
      assert.equal(r.status, 0);
      assert.doesNotMatch(r.stdout + r.stderr, /golden image|Warning/);
    }
  } finally {
    await rm(dir, { recursive: true });
  }
});
