import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packerConfigWith } from '../../core/packer-config.js';
import { ConfigError } from '../../util/errors.js';
import { decodeNullConfig } from './config.js';

const pc = packerConfigWith({
  buildName: 'null',
  builderType: 'null',
  templatePath: '/t/template.json',
  userVariables: { port: '22877' },
  initTime: new Date(0),
  runUuid: 'u',
});

function problems(raw: Record<string, unknown>): string {
  try {
    decodeNullConfig([{ type: 'null', ...raw }], pc);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  return '';
}

test('a complete ssh config decodes with user variables rendered first', () => {
  const c = decodeNullConfig([{ type: 'null', ssh_host: '127.0.0.1', ssh_port: '{{user `port`}}', ssh_username: 'root', ssh_password: 'pw' }], pc);
  assert.equal(c.sshPort, 22877);
  assert.equal(c.sshHost, '127.0.0.1');
  assert.equal(c.communicator, 'ssh');
  assert.equal(c.sshTimeout, 300_000);
  assert.equal(c.packer.buildName, 'null');
});

test('communicator none needs nothing', () => {
  assert.equal(problems({ communicator: 'none' }), '');
});

test('missing everything: communicator problems first, then the null builder’s', () => {
  assert.equal(
    problems({}),
    [
      '4 error(s) occurred:',
      '',
      '* An ssh_username must be specified\n  Note: some builders used to default ssh_username to "root".',
      '* a Host must be specified, please reference your communicator documentation',
      '* a Username must be specified, please reference your communicator documentation',
      '* one authentication method must be specified, please reference your communicator documentation',
    ].join('\n'),
  );
  assert.equal(
    problems({ communicator: 'winrm' }),
    [
      '4 error(s) occurred:',
      '',
      '* winrm_username must be specified.',
      '* a Host must be specified, please reference your communicator documentation',
      '* a Username must be specified, please reference your communicator documentation',
      '* one authentication method must be specified, please reference your communicator documentation',
    ].join('\n'),
  );
});

test('exactly one authentication method', () => {
  assert.equal(
    problems({ ssh_host: 'h', ssh_username: 'u' }),
    '1 error(s) occurred:\n\n* one authentication method must be specified, please reference your communicator documentation',
  );
  assert.equal(problems({ ssh_host: 'h', ssh_username: 'u', ssh_agent_auth: true }), '');
  assert.equal(
    problems({ ssh_host: 'h', ssh_username: 'u', ssh_agent_auth: true, ssh_password: 'p' }),
    '1 error(s) occurred:\n\n* only one of ssh_agent_auth, ssh_password, and ssh_private_key_file must be specified',
  );
});

test('unknown and deprecated keys are reported before validation', () => {
  const msg = problems({ ssh_host: 'h', ssh_key_path: 'a', foo: 1, packer_build_name: 'x' });
  assert.ok(msg.startsWith("2 errors occurred:\n\t* unknown configuration key: '\"foo\"'\n\t* Deprecated configuration key: 'ssh_key_path'."), msg);
});

test('decode type errors come first and alone', () => {
  assert.equal(
    problems({ ssh_port: 'x', ssh_timeout: 'zz', foo: 1 }),
    '2 error(s) decoding:\n\n* cannot parse \'ssh_port\' as int: strconv.ParseInt: parsing "x": invalid syntax\n* error decoding \'ssh_timeout\': time: invalid duration "zz"',
  );
});
