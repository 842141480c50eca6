import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { type InterpolateContext, InterpolateError, cleanResourceName, render } from './index.js';

const initTime = new Date(Date.UTC(2026, 10, 24, 1, 24, 19, 996));
const core: InterpolateContext = { initTime, userVariables: { a: 'x-y-z', empty: '' } };
const vars: InterpolateContext = { ...core, variablesSection: true, env: { HOME: '/home/u', EMPTY: '' } };
const inPlugin: InterpolateContext = { ...core, buildName: 'b1', buildType: 'null', packerVersion: '1.6.6' };

const at = (node: string, fn: string, msg: string): string =>
  `template: root:1:2: executing "root" at <${node}>: error calling ${fn}: ${msg}`;

function err(tpl: string, ctx: InterpolateContext): string {
  try {
    render(tpl, ctx);
  } catch (e) {
    assert.ok(e instanceof InterpolateError);
    return e.message;
  }
  return assert.fail(`no error for ${tpl}`);
}

describe('Packer functions', () => {
  it('env only in the variables section', () => {
    assert.equal(render('{{env `HOME`}}|{{env `NOPE`}}|{{env `EMPTY`}}', vars), '/home/u||');
    assert.equal(err('{{env `HOME`}}', core), at('env `HOME`', 'env', 'env vars are not allowed here'));
  });
  it('user: strict in the variables section, lenient elsewhere', () => {
    assert.equal(render('{{user `a`}}|{{user `nope`}}|{{user `empty`}}', core), 'x-y-z||');
    assert.equal(render('{{user `a`}}', vars), 'x-y-z');
    assert.equal(err('{{user `nope`}}', vars), at('user `nope`', 'user', 'Error: variable not set: nope'));
  });
  it('timestamp, isotime and strftime use initTime', () => {
    assert.equal(render('{{timestamp}}', core), '1795483459');
    assert.equal(render('{{isotime}}', core), '2026-11-24T01:24:19Z');
    assert.equal(
      render('{{isotime "Mon Jan _2 15:04:05.000 MST -0700 2006 PM"}}', core),
      'Tue Nov 24 01:24:19.996 UTC +0000 2026 AM',
    );
    assert.equal(render('{{isotime "2006-01-02"}}', core), '2026-11-24');
    assert.equal(
      err('{{isotime "2006" "01"}}', core),
      at('isotime "2006" "01"', 'isotime', 'too many values, 1 needed: [2006 01]'),
    );
    assert.equal(render('{{strftime "%Y%m%d-%H%M%S %j"}}', core), '20261124-012419 %j');
  });
  it('uuid is time-ordered and new on every call', () => {
    const [u1, u2] = render('{{uuid}} {{uuid}}', core).split(' ');
    assert.match(u1, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.notEqual(u1, u2);
    const secs = parseInt(u1.slice(0, 8), 16);
    assert.ok(Math.abs(secs - Date.now() / 1000) < 60, 'prefix is the current Unix time');
  });
  it('pwd and template_dir', () => {
    assert.equal(render('{{pwd}}', core), process.cwd());
    assert.equal(render('{{template_dir}}', { ...core, templatePath: '/srv/t/packer.json' }), '/srv/t');
    assert.equal(render('{{template_dir}}', { ...core, templatePath: 'rel/t.json' }), path.resolve('rel'));
    assert.equal(
      err('{{template_dir}}', core),
      at('template_dir', 'template_dir', 'template path not available'),
    );
  });
  it('build_name, build_type, packer_version need a plugin context', () => {
    assert.equal(render('{{build_name}} {{build_type}} {{packer_version}}', inPlugin), 'b1 null 1.6.6');
    assert.equal(err('{{build_name}}', core), at('build_name', 'build_name', 'build_name not available'));
    assert.equal(err('{{build_type}}', core), at('build_type', 'build_type', 'build_type not available'));
    assert.equal(
      err('{{packer_version}}', vars),
      at('packer_version', 'packer_version', 'packer_version not available'),
    );
  });
  it('build: placeholders, values, missing keys, no data', () => {
    const placeholder = (k: string): string =>
      `Build_${k}. To set this dynamically in the Packer template, you must use the \`build\` function`;
    const buildData = { ID: placeholder('ID'), Host: '10.0.0.1' };
    assert.equal(render('{{build `ID`}} {{build `Host`}}', { ...inPlugin, buildData }), '{{.ID}} 10.0.0.1');
    assert.equal(render('{{build `Host`}}', { ...inPlugin, data: { Host: 'h' } }), 'h');
    assert.equal(
      err('{{build `Nope`}}', { ...inPlugin, buildData }),
      at('build `Nope`', 'build', 'loaded data, but couldnt find Nope in it.'),
    );
    assert.equal(
      err('{{build `Port`}}', { ...inPlugin, data: { Port: 22 } }),
      at('build `Port`', 'build', 'loaded data, but couldnt find Port in it.'),
    );
    assert.equal(
      err('{{build `ID`}}', inPlugin),
      at(
        'build `ID`',
        'build',
        'Error validating build variable: the given variable ID will not be passed into your plugin.',
      ),
    );
    assert.equal(render('{{.ID}}', { ...inPlugin, data: buildData }), placeholder('ID'));
  });
  it('split, replace, replace_all, upper, lower', () => {
    assert.equal(render('{{split (user `a`) "-" 1}} {{split "abc" "" 2}}', core), 'y c');
    assert.equal(
      err('{{split `a-b-c` `-` 5}}', core),
      at(
        'split `a-b-c` `-` 5',
        'split',
        'the substring 5 was unavailable using the separator value, -, only 3 values were found',
      ),
    );
    assert.equal(
      err('{{ "a-b" | split "-" 0 }}', core),
      'template: root:1:21: executing "root" at <0>: expected string; found 0',
    );
    assert.equal(
      render('{{replace "-" "/" 1 (user `a`)}} {{user `a` | replace "-" "/" -1}}', core),
      'x/y-z x/y/z',
    );
    assert.equal(
      render('{{replace_all "a" "o" "banana"}} {{upper "straße"}} {{lower "ÀB"}}', core),
      'bonono STRAßE àb',
    );
  });
  it('sed is always the deprecation error', () => {
    assert.equal(
      err('{{sed "s/a/b/" "a"}}', core),
      at(
        'sed "s/a/b/" "a"',
        'sed',
        'template function `sed` is deprecated use `replace` or `replace_all` instead.Documentation: https://www.packer.io/docs/templates/engine',
      ),
    );
  });
  it('consul_key, vault and aws_secretsmanager only in the variables section', () => {
    assert.equal(
      err('{{consul_key `k`}}', core),
      at('consul_key `k`', 'consul_key', 'consul_key is not allowed here'),
    );
    assert.equal(
      err('{{vault `p` `k`}}', core),
      at('vault `p` `k`', 'vault', 'Vault vars are only allowed in the variables section'),
    );
    assert.equal(
      err('{{aws_secretsmanager `s`}}', core),
      at(
        'aws_secretsmanager `s`',
        'aws_secretsmanager',
        'AWS Secrets Manager is only allowed in the variables section',
      ),
    );
  });
  it('vault needs VAULT_TOKEN; aws_secretsmanager checks its arguments', () => {
    assert.equal(
      err('{{vault `p` `k`}}', vars),
      at('vault `p` `k`', 'vault', 'Must set VAULT_TOKEN env var in order to use vault template function'),
    );
    assert.equal(
      err('{{aws_secretsmanager}}', vars),
      at('aws_secretsmanager', 'aws_secretsmanager', 'secret name must be provided'),
    );
    assert.equal(
      err('{{aws_secretsmanager `a` `b` `c`}}', vars),
      at(
        'aws_secretsmanager `a` `b` `c`',
        'aws_secretsmanager',
        'only secret name and optional secret key can be provided.',
      ),
    );
    assert.match(err('{{aws_secretsmanager `a`}}', vars), /needs network access to AWS Secrets Manager/);
    const reader = (n: string, k: string): string => `${n}/${k}`;
    assert.equal(render('{{aws_secretsmanager `a` `b`}}', { ...vars, awsSecretsManager: reader }), 'a/b');
  });
  it('clean_resource_name only via extraFuncs; clean_ami_name is gone', () => {
    const ctx = {
      ...inPlugin,
      extraFuncs: { clean_resource_name: (s: unknown) => cleanResourceName(s as string) },
    };
    assert.equal(
      render('{{clean_resource_name "a:b*c (d) [e] f.g/h-i\'j@k_l"}}', ctx),
      "a-b-c (d) [e] f.g/h-i'j@k_l",
    );
    assert.equal(render('{{isotime "2006-01-02 15:04" | clean_resource_name}}', ctx), '2026-11-24 01-24');
    assert.equal(
      err('{{clean_resource_name "a"}}', inPlugin),
      'template: root:1: function "clean_resource_name" not defined',
    );
    assert.equal(
      err('{{clean_ami_name "a"}}', ctx),
      'template: root:1: function "clean_ami_name" not defined',
    );
    assert.equal(
      err('{{clean_resource_name 5}}', ctx),
      'template: root:1:22: executing "root" at <5>: expected string; found 5',
    );
  });
  it('cleanResourceName replaces every disallowed byte', () => {
    assert.equal(cleanResourceName('ok-Name_1.2 (x)'), 'ok-Name_1.2 (x)');
    assert.equal(cleanResourceName('a:b,c'), 'a-b-c');
    assert.equal(cleanResourceName('é'), '--');
  });
});
