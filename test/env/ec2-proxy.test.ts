import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from './moto.js';
import { startEc2Proxy, type Ec2Proxy } from './ec2-proxy.js';

describe('test/env ec2-proxy', () => {
  let moto: Moto;
  let proxy: Ec2Proxy;
  let client: EC2Client;
  before(async () => {
    moto = await startMoto();
    proxy = await startEc2Proxy(moto.endpoint);
    client = new EC2Client({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    client?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  it('passes requests through and logs them', async () => {
    proxy.clearLog();
    const out = await client.send(new DescribeRegionsCommand({}));
    assert.ok((out.Regions ?? []).length > 0);
    assert.deepEqual(proxy.log(), [{ action: 'DescribeRegions', outcome: 'pass', status: 200 }]);
  });

  it('answers with an injected EC2 error the SDK decodes', async () => {
    proxy.setPolicy(({ action }) =>
      action === 'DescribeRegions'
        ? { status: 503, code: 'RequestLimitExceeded', message: 'slow down' }
        : 'pass',
    );
    await assert.rejects(client.send(new DescribeRegionsCommand({})), (err: Error) => {
      assert.equal(err.name, 'RequestLimitExceeded');
      return true;
    });
    proxy.setPolicy(() => 'pass');
  });

  it('holds a request back and drops connections', async () => {
    proxy.setPolicy(() => ({ delayMs: 300 }));
    const t0 = Date.now();
    await client.send(new DescribeRegionsCommand({}));
    assert.ok(Date.now() - t0 >= 290);
    proxy.setPolicy(() => 'drop');
    await assert.rejects(client.send(new DescribeRegionsCommand({})));
    proxy.setPolicy(() => 'drop-after');
    await assert.rejects(client.send(new DescribeRegionsCommand({})));
    assert.equal(proxy.log().at(-1)?.status, 200);
    proxy.setPolicy(() => 'pass');
  });
});
