import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from '../run-kiln.test-helper.js';
import { clearSecrets } from '../../template/secrets.js';

function withTemplate(text: string, fn: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cmd-'));
  writeFileSync(join(dir, 't.json'), text);
  return fn(join(dir, 't.json'), dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const SENSITIVE = JSON.stringify({
  description: 'My template\nsecond line',
  variables: { zeta: '1', req: null, sec: 's3cr3t', alpha: '', longername: 'x', same: 's3cr3t' },
  'sensitive-variables': ['sec'],
  builders: [{ type: 'null', communicator: 'none' }, { name: 'other', type: 'null', communicator: 'none' }],
  provisioners: [{ type: 'shell-local', inline: ['echo'] }, { type: 'file', source: 'a', destination: 'b' }],
});

test('inspect prints Packer\'s layout with sensitive defaults masked, ignoring init errors', async () => {
  clearSecrets();
  await withTemplate(SENSITIVE, async (p) => {
    const r = await runKiln(['inspect', p]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      'Packer Inspect: JSON mode\nDescription:\n\nMy template\nsecond line\n\nRequired variables:\n\n  req\n\n' +
        'Optional variables and their defaults:\n\n  alpha      = \n  longername = x\n  same       = <sensitive>\n  sec        = <sensitive>\n  zeta       = 1\n\n' +
        'Builders:\n\n  null \n  other (null)\n\nProvisioners:\n\n  shell-local\n  file\n\n' +
        "Note: If your build names contain user variables or template\nfunctions such as 'timestamp', these are processed at build time,\nand therefore only show in their raw form here.\n",
    );
    const m = await runKiln(['-machine-readable', 'inspect', p]);
    assert.match(m.stdout, /^1795827723,,ui,say,Packer Inspect: JSON mode\n/);
    assert.match(m.stdout, /\n1795827723,,template-variable,req,,1\n/);
    assert.match(m.stdout, /\n1795827723,,template-builder,other,null\n/);
    assert.match(m.stdout, /\n1795827723,,template-provisioner,file\n/);
  });
});

test('console evaluates piped lines and prints only the last result; errors use the ??????? box', async () => {
  clearSecrets();
  await withTemplate('{"variables":{"a":"x"},"builders":[{"type":"null","communicator":"none"}]}', async (p) => {
    const r = await runKiln(['console', p], { input: '{{user `a`}}\n{{nope}}\n{{upper `q`}}\n' });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '???????: Interpolation error\n\ntemplate: root:1: function "nope" not defined\n\n\nQ\n');
    const v = await runKiln(['console', '-var', 'b=y', p], { input: 'variables\n' });
    assert.equal(v.stdout, '\n: ,\na: x,\nb: y,\n\n');
  });
});

test('validate: syntax-only, success line, boxed initialization and build errors', async () => {
  clearSecrets();
  await withTemplate('{"variables":{"r":null},"builders":[{"type":"null","communicator":"none"},{"type":"nosuch"}]}', async (p) => {
    assert.deepEqual(await runKiln(['validate', '-syntax-only', p]), {
      code: 0,
      stdout: 'Syntax-only check passed. Everything looks okay.\n',
      stderr: '',
    });
    const r = await runKiln(['validate', p]);
    assert.equal(r.stdout, 'Error: \n\n1 error occurred:\n\t* required variable not set: r\n\n\n\n\n');
    assert.equal(r.code, 1);
    const b = await runKiln(['validate', '-var', 'r=1', p]);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /^Error: Failed to initialize build "nosuch"\n\nerror initializing builder 'nosuch': Unknown builder nosuch\nKnown builders: /);
    const ok = await runKiln(['validate', '-var', 'r=1', '-except=nosuch', p]);
    assert.deepEqual([ok.code, ok.stdout], [0, 'The configuration is valid.\n']);
    const parity = await runKiln(['validate', '-var', 'r=1', '-only=null', p], { env: { KILN_PACKER_PARITY: '1' } });
    assert.deepEqual([parity.code, parity.stdout], [0, '']);
  });
});

test('fix prints the fixed template and validates it', async () => {
  await withTemplate('{"builders":[{"type":"null","ssh_wait_timeout":"1m","communicator":"none"}]}', async (p) => {
    const r = await runKiln(['fix', p]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '{\n  "builders": [\n    {\n      "communicator": "none",\n      "ssh_timeout": "1m",\n      "type": "null"\n    }\n  ]\n}\n\n');
  });
  await withTemplate('{"foo":1}', async (p) => {
    const r = await runKiln(['fix', p]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Error! Fixed template fails to parse: 1 error occurred:\n\t\* Unknown root level key in template: 'foo'\n\n\n\nThis is usually caused/);
  });
});

test('sensitive values are masked in human output but not in machine-readable output (Packer bug kept)', async () => {
  clearSecrets();
  const tpl = '{"variables":{"sec":"s3cr3t"},"sensitive-variables":["sec"],"builders":[{"type":"null","communicator":"none"}]}';
  await withTemplate(tpl, async (p) => {
    const human = await runKiln(['console', p], { input: '{{user `sec`}}-x\n' });
    assert.equal(human.stdout, '<sensitive>-x\n');
    const machine = await runKiln(['-machine-readable', 'console', p], { input: '{{user `sec`}}-x\n' });
    assert.equal(machine.stdout, '1795827723,,ui,message,s3cr3t-x\n');
  });
  clearSecrets();
});
