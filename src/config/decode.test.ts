import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfig, DecodeError, f, fieldDocs, interpolationContext, placeholderData, Problems, type TemplateEngine } from './decode.js';
import { InterpolateError, type InterpolateContext } from '../interpolate/index.js';
import { ConfigError } from '../util/errors.js';
import { packerConfigWith } from '../core/packer-config.js';

const pc = packerConfigWith({
  buildName: 'b',
  builderType: 'null',
  templatePath: '/t/x.json',
  userVariables: { port: '2222', name: 'web' },
  initTime: new Date(0),
  runUuid: 'u',
});

/** A tiny stand-in engine: `{{user `x`}}`, `{{upper `x`}}`, `{{build_name}}`; `{{nosuch}}` / `{{` fail. */
const fake: TemplateEngine = {
  validateTemplate(text) {
    if (/\{\{[^}]*$/.test(text)) throw new InterpolateError('parse', 'template: root:1: unclosed action');
    if (text.includes('{{nosuch}}')) throw new InterpolateError('parse', 'template: root:1: function "nosuch" not defined');
  },
  render(text, ctx: InterpolateContext) {
    return text.replace(/\{\{\s*(\w+)\s*(?:`([^`]*)`)?\s*\}\}/g, (_m, fn: string, arg: string) => {
      if (fn === 'user') return ctx.userVariables?.[arg] ?? '';
      if (fn === 'upper') return arg.toUpperCase();
      if (fn === 'build_name') return ctx.buildName ?? '';
      if (fn === 'env') {
        throw new InterpolateError('exec', `template: root:1:2: executing "root" at <env \`${arg}\`>: error calling env: env vars are not allowed here`);
      }
      return '';
    });
  },
};

const table = {
  host: f.string('ssh_host', 'Host.'),
  port: f.int('ssh_port', 'Port.', { default: 22 }),
  ratio: f.float('ratio', 'A float.'),
  pty: f.bool('ssh_pty', 'PTY.'),
  keep: f.bool('keep', 'Defaults to true.', { default: true }),
  tri: f.tristate('tri', 'Tri-state.'),
  timeout: f.duration('ssh_timeout', 'Timeout.', { default: 300_000 }),
  inline: f.strings('inline', 'Lines.'),
  codes: f.ints('valid_exit_codes', 'Codes.', { default: [0] }),
  tags: f.stringMap('tags', 'Tags.'),
  data: f.any('custom_data', 'Anything.'),
  nested: f.object('nested', { size: f.int('volume_size', 'Size.', { goType: 'int64' }), name: f.string('device_name', 'Name.') }, 'A struct.'),
  disks: f.objects('disks', { size: f.int('volume_size', 'Size.', { goType: 'int64' }), name: f.string('device_name', 'Name.') }, 'Structs.'),
  cmd: f.string('execute_command', 'Excluded from prepare rendering.'),
};

const decode = (raws: Record<string, unknown>[], extra: object = {}) =>
  decodeConfig(table, raws, { pc, engine: fake, exclude: ['Execute_Command'], ...extra });

function decodeFails(raws: Record<string, unknown>[], extra: object = {}): DecodeError {
  try {
    decode(raws, extra);
  } catch (err) {
    assert.ok(err instanceof DecodeError, String(err));
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a DecodeError');
}

test('zero values and defaults when nothing is set', () => {
  const c = decode([{}]);
  assert.equal(c.host, '');
  assert.equal(c.port, 22);
  assert.equal(c.pty, false);
  assert.equal(c.keep, true);
  assert.equal(c.tri, undefined);
  assert.equal(c.timeout, 300_000);
  assert.deepEqual(c.inline, []);
  assert.deepEqual(c.codes, [0]);
  assert.deepEqual(c.tags, {});
  assert.deepEqual(c.nested, { size: 0, name: '' });
  assert.equal(c.packer.buildName, 'b');
  assert.equal(c.packer.builderType, 'null');
});

test('weak typing converts like mapstructure WeaklyTypedInput', () => {
  const cases: Array<[Record<string, unknown>, keyof ReturnType<typeof decode>, unknown]> = [
    [{ ssh_port: '22877' }, 'port', 22877],
    [{ ssh_port: '0x10' }, 'port', 16],
    [{ ssh_port: 22.9 }, 'port', 22],
    [{ ssh_port: true }, 'port', 1],
    [{ ssh_port: '' }, 'port', 22], // "" → 0 → default
    [{ ssh_host: 5 }, 'host', '5'],
    [{ ssh_host: 1.5 }, 'host', '1.5'],
    [{ ssh_host: 1e21 }, 'host', '1000000000000000000000'],
    [{ ssh_host: true }, 'host', '1'],
    [{ ssh_pty: 'false' }, 'pty', false],
    [{ ssh_pty: 'T' }, 'pty', true],
    [{ ssh_pty: '' }, 'pty', false],
    [{ ssh_pty: 2 }, 'pty', true],
    [{ keep: false }, 'keep', false],
    [{ keep: '' }, 'keep', false],
    [{ ratio: '2.5' }, 'ratio', 2.5],
    [{ tri: 'true' }, 'tri', true],
    [{ tri: false }, 'tri', false],
    [{ tri: '' }, 'tri', undefined],
    [{ ssh_timeout: '1m30s' }, 'timeout', 90_000],
    [{ ssh_timeout: 1_500_000_000 }, 'timeout', 1500],
    [{ inline: 'echo a, echo b' }, 'inline', ['echo a', ' echo b']],
    [{ inline: 7 }, 'inline', ['7']],
    [{ inline: {} }, 'inline', []],
    [{ valid_exit_codes: '0' }, 'codes', [0]],
    [{ valid_exit_codes: '0,2' }, 'codes', [0, 2]],
    [{ valid_exit_codes: 3 }, 'codes', [3]],
    [{ tags: { a: 1, b: true, c: null } }, 'tags', { a: '1', b: '1', c: '' }],
    [{ tags: [{ a: 'x' }, { b: 'y' }] }, 'tags', { a: 'x', b: 'y' }],
    [{ nested: { volume_size: '8' } }, 'nested', { size: 8, name: '' }],
    [{ custom_data: { k: [1, 'v'] } }, 'data', { k: [1, 'v'] }],
  ];
  for (const [raw, prop, want] of cases) {
    assert.deepEqual(decode([raw])[prop], want, `${JSON.stringify(raw)} → ${String(prop)}`);
  }
});

test('keys match case-insensitively, exact match first', () => {
  assert.equal(decode([{ SSH_PORT: 5 }]).port, 5);
  const err = decodeFails([{ ssh_Port: 5, ssh_port: 6 }]);
  assert.equal(err.message, `1 error occurred:\n\t* unknown configuration key: '"ssh_Port"'\n\n`);
});

test('override layers: scalars replace, maps merge, arrays merge element-wise', () => {
  const c = decode([
    { ssh_host: 'a', inline: ['echo a', 'echo b', 'echo c'], tags: { x: '1', y: '2' }, disks: [{ volume_size: 8, device_name: 'd0' }, { volume_size: 9 }] },
    { ssh_host: 'b', inline: ['echo x'], tags: { y: '3', z: '4' }, disks: [{ volume_size: 10 }] },
  ]);
  assert.equal(c.host, 'b');
  assert.deepEqual(c.inline, ['echo x', 'echo b', 'echo c']);
  assert.deepEqual(c.tags, { x: '1', y: '3', z: '4' });
  assert.deepEqual(c.disks, [
    { size: 10, name: 'd0' },
    { size: 9, name: '' },
  ]);
});

test('an override list longer than the base extends it', () => {
  assert.deepEqual(decode([{ inline: ['a'] }, { inline: ['x', 'y'] }]).inline, ['x', 'y']);
});

test('type errors are collected, sorted, in mapstructure form', () => {
  const err = decodeFails([
    {
      ssh_port: 'x',
      ssh_timeout: 'zz',
      ssh_host: { a: 1 },
      ssh_pty: 'yes',
      inline: [{ b: [1, 2] }],
      nested: 5,
      disks: [5, { volume_size: [1] }],
      tags: { a: { b: 1 } },
      ratio: 'q',
    },
  ]);
  assert.equal(
    err.message,
    [
      '10 error(s) decoding:',
      '',
      "* 'disks[0]' expected a map, got 'float64'",
      "* 'disks[1].volume_size' expected type 'int64', got unconvertible type '[]interface {}', value: '[1]'",
      "* 'inline[0]' expected type 'string', got unconvertible type 'map[interface {}]interface {}', value: 'map[b:[1 2]]'",
      "* 'nested' expected a map, got 'float64'",
      "* 'ssh_host' expected type 'string', got unconvertible type 'map[interface {}]interface {}', value: 'map[a:1]'",
      "* 'tags[<interface {} Value>]' expected type 'string', got unconvertible type 'map[interface {}]interface {}', value: 'map[b:1]'",
      '* cannot parse \'ratio\' as float: strconv.ParseFloat: parsing "q": invalid syntax',
      '* cannot parse \'ssh_port\' as int: strconv.ParseInt: parsing "x": invalid syntax',
      '* cannot parse \'ssh_pty\' as bool: strconv.ParseBool: parsing "yes": invalid syntax',
      '* error decoding \'ssh_timeout\': time: invalid duration "zz"',
    ].join('\n'),
  );
  assert.equal(err.problems.length, 10);
});

test('a Trilean gets the hook error, out-of-range ints the strconv one', () => {
  assert.match(decodeFails([{ tri: 'maybe' }]).message, /\* error decoding 'tri': Error parsing bool from given var: strconv.ParseBool: parsing "maybe": invalid syntax$/);
  assert.match(decodeFails([{ ssh_port: '99999999999999999999' }]).message, /parsing "99999999999999999999": value out of range$/);
  assert.match(decodeFails([{ ssh_port: '08' }]).message, /parsing "08": invalid syntax$/);
});

test('durations and lists of structs reject other shapes like mapstructure', () => {
  const err = decodeFails([{ ssh_timeout: { x: 1 }, disks: 'a,b', tri: { a: 1 } }]);
  assert.deepEqual(err.problems, [
    "'disks[0]' expected a map, got 'string'",
    "'disks[1]' expected a map, got 'string'",
    "'ssh_timeout' expected type 'time.Duration', got unconvertible type 'map[interface {}]interface {}', value: 'map[x:1]'",
    "'tri' expected type 'config.Trilean', got unconvertible type 'map[interface {}]interface {}', value: 'map[a:1]'",
  ]);
});

test('type errors of the first failing layer stop decoding before unknown keys', () => {
  const err = decodeFails([{ ssh_port: 'x', bogus: 1 }]);
  assert.match(err.message, /^1 error\(s\) decoding:\n\n\* cannot parse 'ssh_port'/);
});

test('unknown keys: type and packer_* ignored, deprecated keys explained, nested keys named by path', () => {
  const err = decodeFails([
    { type: 'null', packer_build_name: 'x', iso_md5: 'a', zeta: 1, ssh_key_path: 'k', disks: [{ volume_size: 1, foo: 2 }], nested: { bar: 1 } },
  ]);
  const dep = (k: string) =>
    `Deprecated configuration key: '${k}'. Please call \`packer fix\` against your template to update your template to be compatible with the current version of Packer. Visit https://www.packer.io/docs/commands/fix/ for more detail.`;
  assert.deepEqual(err.problems, [
    `unknown configuration key: '"disks[0].foo"'`,
    dep('iso_md5'),
    `unknown configuration key: '"nested.bar"'`,
    dep('ssh_key_path'),
    `unknown configuration key: '"zeta"'`,
  ]);
  assert.ok(err.message.startsWith('5 errors occurred:\n\t* unknown configuration key'));
  assert.ok(err.message.endsWith('\n\n'));
});

test('plugin-specific deprecated keys and keys the table really has', () => {
  const err = decodeFails([{ shutdown_behaviour: 'x' }], { deprecated: ['shutdown_behaviour'] });
  assert.match(err.problems[0], /^Deprecated configuration key: 'shutdown_behaviour'\./);
  const t2 = { wait: f.duration('ssh_wait_timeout', 'Real field.') };
  assert.equal(decodeConfig(t2, [{ ssh_wait_timeout: '1s' }], { pc, engine: fake }).wait, 1000);
});

test('interpolation renders string leaves and nested keys before typing', () => {
  const c = decode([
    { ssh_port: '{{user `port`}}', ssh_host: '{{build_name}}', custom_data: { '{{upper `k`}}': ['{{upper `v`}}', 5] }, tags: { '{{user `name`}}': 'x' } },
  ]);
  assert.equal(c.port, 2222);
  assert.equal(c.host, 'b');
  assert.deepEqual(c.data, { K: ['V', 5] });
  assert.deepEqual(c.tags, { web: 'x' });
});

test('excluded keys are syntax-checked but not rendered', () => {
  assert.equal(decode([{ execute_command: '{{ .Vars }} {{user `port`}}' }]).cmd, '{{ .Vars }} {{user `port`}}');
  const err = decodeFails([{ execute_command: '{{nosuch}}' }]);
  assert.equal(err.message, `invalid 'execute_command': template: root:1: function "nosuch" not defined in:\n\n{{nosuch}}`);
});

test('template errors name the top-level key and quote the original', () => {
  const err = decodeFails([{ custom_data: { a: ['{{env `HOME`}}'] } }]);
  assert.equal(
    err.message,
    'render \'custom_data\': template: root:1:2: executing "root" at <env `HOME`>: error calling env: env vars are not allowed here in:\n\n{{env `HOME`}}',
  );
  assert.equal(decodeFails([{}, { ssh_host: '{{ oops' }]).message, "invalid 'ssh_host': template: root:1: unclosed action in:\n\n{{ oops");
  assert.equal(err.withPrefix('Error decoding config: ').message.slice(0, 36), "Error decoding config: render 'custo");
});

test('interpolationContext: builders get nil data, provisioners the placeholder map', () => {
  const b = interpolationContext(pc);
  assert.equal(b.data, null);
  assert.equal(b.buildData, undefined);
  assert.equal(b.packerVersion, '1.6.6');
  assert.equal(b.buildName, 'b');
  assert.equal(b.buildType, 'null');
  const ph = placeholderData(['SourceAMI']);
  const p = interpolationContext(pc, ph);
  assert.equal(p.data, ph);
  assert.equal(ph.Host, 'Build_Host. To set this dynamically in the Packer template, you must use the `build` function');
  assert.equal(ph.WinRMPassword, '{{.WinRMPassword}}');
  assert.ok('SourceAMI' in ph);
});

test('Problems throws one ConfigError in the SDK format', () => {
  const p = new Problems();
  p.throwIfAny();
  p.add('a');
  p.addError(new ConfigError(['b', 'c']));
  assert.throws(() => p.throwIfAny(), (err: unknown) => err instanceof ConfigError && err.message === '3 error(s) occurred:\n\n* a\n* b\n* c');
});

test('__proto__ keys stay plain data', () => {
  const raw = JSON.parse('{"tags": {"__proto__": "x"}, "custom_data": {"__proto__": {"a": 1}}}');
  const c = decode([raw]);
  assert.equal(Object.getPrototypeOf(c.tags), Object.prototype);
  assert.equal((c.tags as Record<string, string>)['__proto__'], 'x');
});

test('with the real engine: user variables, build_name, placeholders and Go error texts', () => {
  const t = { host: f.string('ssh_host', 'Host.'), port: f.int('ssh_port', 'Port.'), cmd: f.string('command', 'Cmd.') };
  const ph = placeholderData();
  const c = decodeConfig(t, [{ ssh_host: '{{build_name}}-{{ build_type }}-{{packer_version}}', ssh_port: '{{user `port`}}', command: '{{ build `Host` }}|{{ .ID }}' }], {
    pc,
    placeholder: ph,
  });
  assert.equal(c.host, 'b-null-1.6.6');
  assert.equal(c.port, 2222);
  assert.equal(c.cmd, '{{.Host}}|' + ph.ID);
  assert.throws(() => decodeConfig(t, [{ ssh_host: '{{nosuch}}' }], { pc }), {
    message: `invalid 'ssh_host': template: root:1: function "nosuch" not defined in:\n\n{{nosuch}}`,
  });
  assert.throws(() => decodeConfig(t, [{ command: '{{env `HOME`}}' }], { pc }), {
    message: 'render \'command\': template: root:1:2: executing "root" at <env `HOME`>: error calling env: env vars are not allowed here in:\n\n{{env `HOME`}}',
  });
  assert.throws(() => decodeConfig(t, [{ command: '{{ build `ID` }}' }], { pc }), (err: unknown) =>
    err instanceof DecodeError && err.message.startsWith("render 'command': ") && err.message.includes('Error validating build variable'),
  );
});

test('builder functions are known to both validation and rendering', () => {
  const t = { name: f.string('ami_name', 'Name.') };
  const extraFuncs = { clean_resource_name: (s: unknown) => String(s).replace(/[^a-z]/g, '-') };
  assert.equal(decodeConfig(t, [{ ami_name: '{{ "a b" | clean_resource_name }}' }], { pc, extraFuncs }).name, 'a-b');
  assert.throws(() => decodeConfig(t, [{ ami_name: '{{ "a" | clean_resource_name }}' }], { pc }), /function "clean_resource_name" not defined/);
});

test('fieldDocs lists options with nested paths', () => {
  const docs = fieldDocs(table);
  assert.deepEqual(docs[1], { key: 'ssh_port', kind: 'int', doc: 'Port.', default: 22 });
  assert.ok(docs.some((d) => d.key === 'disks[].volume_size'));
  assert.ok(docs.some((d) => d.key === 'nested.device_name'));
});
