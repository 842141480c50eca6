/**
 * startAmazonEnv (the fixture under amazonEnv): what it starts answers on 127.0.0.1, the builder it
 * hands out points kiln there and not at moto's invented addresses, and stop() ends every part.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { startAmazonEnv } from './amazon-env.js';
import { listening } from './ssh-env.js';

describe('startAmazonEnv', () => {
  it('starts moto, the instance sshd and bastion and a directory; stop() ends all of them', async () => {
    const env = await startAmazonEnv({ dir: 'kiln-amazon-env-test-' });
    let stopped = false;
    try {
      const img = await env.ec2.send(new DescribeImagesCommand({ ImageIds: [env.moto.seed.source_ami] }));
      assert.equal(img.Images?.[0]?.ImageId, env.moto.seed.source_ami);
      assert.ok(existsSync(env.dir));
      const b = env.builder({ ami_name: 'x' });
      assert.equal(b.type, 'amazon-ebs');
      assert.equal(b.ami_name, 'x');
      assert.equal(b.custom_endpoint_ec2, env.moto.endpoint);
      assert.equal(b.ssh_host, '127.0.0.1');
      assert.equal(b.ssh_port, String(env.inst.port));
      assert.equal(b.ssh_bastion_host, '127.0.0.1');
      assert.equal(b.ssh_bastion_port, String(env.inst.bastion.port));
      assert.equal(env.kilnEnv().SSH_AUTH_SOCK, env.inst.agentSock);
      for (const port of [env.moto.port, env.inst.port, env.inst.bastion.port])
        assert.equal(await listening(port), true, `port ${port}`);
      await env.stop();
      stopped = true;
      for (const port of [env.moto.port, env.inst.port, env.inst.bastion.port])
        assert.equal(await listening(port), false, `port ${port} still answers`);
      assert.equal(existsSync(env.dir), false);
      assert.equal(existsSync(env.inst.stateDir), false);
    } finally {
      if (!stopped) await env.stop();
    }
  });
});
