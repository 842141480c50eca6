import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../util/errors.js';
import { knownTypes, loadComponent, loadFrom, UnknownComponentError } from './registry.js';

test('an unknown type gives Packer\'s message and kiln\'s list of known types', async () => {
  await assert.rejects(loadComponent('provisioner', 'nosuch', 'at t.json:3:5'), (e: unknown) => {
    assert.ok(e instanceof UnknownComponentError);
    assert.equal(e.packerMessage, "error initializing provisioner 'nosuch': Unknown provisioner nosuch");
    assert.equal(e.message, `${e.packerMessage}\nKnown provisioners: ${knownTypes('provisioner').join(', ')} (provisioner at t.json:3:5)`);
    return true;
  });
});

test('prototype keys are not component types', async () => {
  await assert.rejects(loadComponent('builder', 'constructor'), UnknownComponentError);
  await assert.rejects(loadComponent('builder', '__proto__'), UnknownComponentError);
});

test('a registered type whose module is missing fails cleanly', async () => {
  const table = {
    gone: () => import('./no-such-module.js' as string) as Promise<{ create?: unknown }>,
    empty: async () => ({}),
  };
  await assert.rejects(loadFrom(table, 'builder', 'gone'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, "error initializing builder 'gone': Cannot load builder gone: it is not available in this kiln build");
    return true;
  });
  await assert.rejects(loadFrom(table, 'builder', 'empty'), /exports no create\(\)/);
});

test('the null builder loads lazily and creates an instance', async () => {
  const b = await loadComponent('builder', 'null');
  assert.equal(typeof b.prepare, 'function');
});
