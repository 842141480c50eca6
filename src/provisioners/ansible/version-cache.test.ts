import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedMajorVersion } from './version-cache.js';
import { ansibleMajorVersion } from './config.js';

async function setup(): Promise<{ dir: string; env: NodeJS.ProcessEnv; count: () => Promise<number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-ansible-vcache-'));
  const counter = join(dir, 'runs');
  await writeFile(
    join(dir, 'fake-playbook'),
    `#!/bin/sh\necho x >> ${counter}\necho 'fake-playbook [core 2.14.18]'\necho '  config file = None'\n`,
  );
  await chmod(join(dir, 'fake-playbook'), 0o755);
  const env = { PATH: `${dir}:${process.env.PATH}`, XDG_CACHE_HOME: join(dir, 'cache') };
  const count = async () => (await readFile(counter, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  return { dir, env, count };
}

test('the version check runs once per executable and again after it changes', async () => {
  const { dir, env, count } = await setup();
  try {
    const check = () => ansibleMajorVersion(join(dir, 'fake-playbook'));
    assert.equal(await cachedMajorVersion('fake-playbook', check, env), 2);
    assert.equal(await cachedMajorVersion('fake-playbook', check, env), 2);
    assert.equal(await count(), 1);
    const later = new Date(Date.now() + 5000);
    await utimes(join(dir, 'fake-playbook'), later, later);
    assert.equal(await cachedMajorVersion('fake-playbook', check, env), 2);
    assert.equal(await count(), 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('problems are not cached, and KILN_NO_CACHE turns the cache off', async () => {
  const { dir, env, count } = await setup();
  try {
    let calls = 0;
    const failing = async () => {
      calls++;
      return 'Error running "fake-playbook --version": exit status 1';
    };
    await cachedMajorVersion('fake-playbook', failing, env);
    await cachedMajorVersion('fake-playbook', failing, env);
    assert.equal(calls, 2);
    const check = () => ansibleMajorVersion(join(dir, 'fake-playbook'));
    const off = { ...env, KILN_NO_CACHE: '1' };
    await cachedMajorVersion('fake-playbook', check, off);
    await cachedMajorVersion('fake-playbook', check, off);
    assert.equal(await count(), 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
