import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initializeCore, placeholderData, type Core } from './core.js';
import { CoreInitError } from './errors.js';
import { parseTemplate } from '../template/parse.js';
import { clearSecrets, maskSecrets } from '../template/secrets.js';

const T0 = new Date(Date.UTC(2026, 10, 28));

async function core(template: unknown, vars: Array<[string, string]> = []): Promise<Core> {
  return initializeCore({
    template: parseTemplate(JSON.stringify(template)),
    vars,
    initTime: T0,
    env: { HOME_X: '/home/x' },
  });
}

async function initError(template: unknown, vars: Array<[string, string]> = []): Promise<string> {
  try {
    await core(template, vars);
  } catch (e) {
    assert.ok(e instanceof CoreInitError, String(e));
    return e.message;
  }
  assert.fail('expected an initialization error');
}

test('renders chained variables in any order', async () => {
  const c = await core({
    variables: { foo: 'bar', bar: '{{user `foo`}}', baz: '{{user `bar`}}baz', bang: 'bang{{user `baz`}}' },
    builders: [{ type: 'null' }],
  });
  assert.equal(c.userVariables.foo, 'bar');
  assert.equal(c.userVariables.bar, 'bar');
  assert.equal(c.userVariables.baz, 'barbaz');
  assert.equal(c.userVariables.bang, 'bangbarbaz');
  assert.equal(c.userVariables[''], '', "Packer's empty-named variable");
});

test('CLI values beat defaults and may reference template variables; env only in variables', async () => {
  const c = await core(
    { variables: { my_var: 'x', name: null, home: '{{env `HOME_X`}}' }, builders: [{ type: 'null' }] },
    [['name', 'gotta-{{user `my_var`}}']],
  );
  assert.equal(c.userVariables.name, 'gotta-x');
  assert.equal(c.userVariables.home, '/home/x');
});

test('keeps {{ .X }} placeholders in variables', async () => {
  const c = await core({ variables: { ip: '{{ .HTTPIP }}', two: '{{.A}}/{{ .B }}' }, builders: [{ type: 'null' }] });
  assert.equal(c.userVariables.ip, '{{ .HTTPIP }}');
  assert.equal(c.userVariables.two, '{{.A}}/{{ .B }}');
});

test('fails on an undefined root of a variable chain', async () => {
  const msg = await initError({
    variables: { bar: '{{user `foo`}}', baz: '{{user `bar`}}baz' },
    builders: [{ type: 'null' }],
  });
  assert.match(msg, /^Failed to interpolate "baz": "\{\{user `bar`\}\}baz"; error: .*variable not set: bar: Please make sure/);
});

test('initialization errors in order: validation, min version, required variables', async () => {
  assert.equal(await initError({}), '1 error occurred:\n\t* at least one builder must be defined\n\n');
  assert.equal(
    await initError({ min_packer_version: '101.0.0', builders: [{ type: 'null' }] }),
    'This template requires Packer version 101.0.0 or higher; using 1.6.6',
  );
  assert.equal(
    await initError({ variables: { b: null, a: null }, builders: [{ type: 'null' }] }),
    '2 errors occurred:\n\t* required variable not set: a\n\t* required variable not set: b\n\n',
  );
});

test('renders build names and selects builds with -only/-except', async () => {
  const c = await core({
    variables: { foo: 'bar' },
    builders: [
      { type: 'null', name: 'second-{{user `foo`}}', communicator: 'none' },
      { type: 'null', name: 'first', communicator: 'none' },
    ],
  });
  assert.deepEqual([...c.buildNames.entries()], [
    ['first', 'first'],
    ['second-bar', 'second-{{user `foo`}}'],
  ]);
  const { builds, diagnostics } = await c.createBuilds({ except: ['first'] });
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(
    builds.map((b) => [b.name, b.rawName, b.packerConfig.buildName]),
    [['second-bar', 'second-{{user `foo`}}', 'second-bar']],
  );
  assert.deepEqual((await c.createBuilds({ only: ['nope'] })).builds, []);
});

test('reports unknown builder types per build and keeps the other builds', async () => {
  const c = await core({ builders: [{ type: 'foo' }, { type: 'null', communicator: 'none' }] });
  const { builds, diagnostics } = await c.createBuilds({});
  assert.deepEqual(builds.map((b) => b.name), ['null']);
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0].summary, 'Failed to initialize build "foo"');
  assert.match(diagnostics[0].detail, /^error initializing builder 'foo': Unknown builder foo\nKnown builders: .*null/);
});

test('applies only/except, override layers, wrapper settings and -except on post-processor names', async () => {
  const c = await core(
    {
      variables: { n: '2' },
      builders: [
        { type: 'null', name: 'a', communicator: 'none' },
        { type: 'null', name: 'b', communicator: 'none' },
      ],
      provisioners: [
        { type: 'shell-local', inline: ['echo 1', 'echo 2'], only: ['a'], pause_before: '1s', max_retries: '{{user `n`}}' },
        { type: 'shell-local', inline: ['echo 3'], override: { b: { inline: ['echo b'] } }, timeout: '5m' },
      ],
      'post-processors': [
        [{ type: 'manifest', name: 'first' }, { type: 'manifest', name: 'second' }],
        [{ type: 'manifest', name: 'other', except: ['a'] }],
      ],
    },
  );
  const { builds, diagnostics } = await c.createBuilds({ except: ['second'] });
  assert.deepEqual(diagnostics, []);
  const [a, b] = builds;
  assert.deepEqual(a.provisioners.map((p) => [p.pauseBeforeMs, p.timeoutMs, p.maxRetries]), [
    [1000, 0, 2],
    [0, 300000, 0],
  ]);
  assert.deepEqual(b.provisioners.map((p) => p.raws), [[{ inline: ['echo 3'] }, { inline: ['echo b'] }]]);
  assert.deepEqual(a.postProcessors.map((ch) => ch.map((p) => p.name)), [['first']]);
  assert.deepEqual(b.postProcessors.map((ch) => ch.map((p) => p.name)), [['first'], ['other']]);
  assert.equal(a.placeholderData.ID, 'Build_ID. To set this dynamically in the Packer template, you must use the `build` function');
});

test('a bad max_retries fails the build at creation', async () => {
  const c = await core({
    builders: [{ type: 'null', communicator: 'none' }],
    provisioners: [{ type: 'shell-local', inline: ['x'], max_retries: 'abc' }],
  });
  const { diagnostics } = await c.createBuilds({});
  assert.deepEqual(diagnostics, [
    {
      severity: 'error',
      summary: 'Failed to initialize build "null"',
      detail: '`max_retries` must be a valid integer: strconv.Atoi: parsing "abc": invalid syntax',
    },
  ]);
});

test('a component config error becomes a prepare diagnostic', async () => {
  const c = await core({ builders: [{ type: 'null' }] });
  const { builds, diagnostics } = await c.createBuilds({});
  assert.deepEqual(builds, []);
  assert.equal(diagnostics[0].summary, 'Failed to prepare build: "null"');
});

test('registers the final values of declared sensitive variables', async () => {
  clearSecrets();
  await core(
    { variables: { sec: 'default', other: 'x' }, 'sensitive-variables': ['sec', 'undeclared'], builders: [{ type: 'null' }] },
    [['sec', 's3cr3t']],
  );
  assert.equal(maskSecrets('echo s3cr3t and x'), 'echo <sensitive> and x');
  clearSecrets();
});

test('the placeholder map marks WinRMPassword specially and adds builder keys', () => {
  const p = placeholderData(['SourceAMI']);
  assert.equal(p.WinRMPassword, '{{.WinRMPassword}}');
  assert.match(p.SourceAMI, /^Build_SourceAMI\. /);
});
