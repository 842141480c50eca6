import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareShellLocal } from './config.js';
import { goSprintf2 } from './run.js';
import { packerConfigWith } from '../../core/packer-config.js';

const pc = packerConfigWith({ buildName: 'null', builderType: 'null', initTime: new Date(0), runUuid: 'u' });

function problems(raw: Record<string, unknown>, pp = false): string {
  try {
    prepareShellLocal([raw], pc, {}, pp);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

test('defaults: /bin/sh -c execute_command, /bin/sh -e shebang, exit code 0', () => {
  const cfg = prepareShellLocal([{ inline: ['echo hi'] }], pc, {}, false);
  assert.deepEqual(cfg.executeCommand, ['/bin/sh', '-c', '{{.Vars}} {{.Script}}']);
  assert.equal(cfg.inlineShebang, '/bin/sh -e');
  assert.deepEqual(cfg.validExitCodes, [0]);
});

test('Packer\'s validation messages, all at once', () => {
  assert.equal(problems({}), '1 error(s) occurred:\n\n* Command, Inline, Script and Scripts options cannot all be empty.');
  assert.equal(
    problems({ inline: ['a'], scripts: ['/proc/nope/x.sh'], environment_vars: ['=x'] }),
    '3 error(s) occurred:\n\n' +
      '* You may only specify one of the following options: Command, Inline, Script or Scripts. Please consolidate these options in your config.\n' +
      "* Bad script '/proc/nope/x.sh': stat /proc/nope/x.sh: no such file or directory\n" +
      "* Environment variable not in format 'key=value': =x",
  );
  assert.equal(problems({ inline: ['a'], only_on: ['plan9'] }), "Invalid OS specified in only_on: 'plan9'\nSupported OS names: darwin, freebsd, linux, openbsd, solaris, windows");
});

test('command becomes the inline script; the post-processor wraps a one-element execute_command in sh -c', () => {
  assert.deepEqual(prepareShellLocal([{ command: 'echo x' }], pc, {}, false).inline, ['echo x']);
  assert.deepEqual(prepareShellLocal([{ inline: ['a'], execute_command: ['{{.Script}}'] }], pc, {}, true).executeCommand, ['sh', '-c', '{{.Script}}']);
  assert.deepEqual(prepareShellLocal([{ inline: ['a'], execute_command: ['{{.Script}}'] }], pc, {}, false).executeCommand, ['{{.Script}}']);
});

test('env_var_format is applied like Go\'s Sprintf with two strings', () => {
  assert.equal(goSprintf2("%s='%s' ", 'A', 'b'), "A='b' ");
  assert.equal(goSprintf2('%s=%s%%;', 'A', 'b'), 'A=b%;');
});
