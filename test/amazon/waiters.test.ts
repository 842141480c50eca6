/** Waiter settings (spec §A.2) and the poll loop's semantics (§B.16), as unit tests of logic. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  imageWait,
  INSTANCE_WAIT,
  poll,
  waitSettings,
  WaiterError,
} from '../../src/builders/amazon/common/waiters.js';
import { ec2Endpoint, staticCredentials } from '../../src/builders/amazon/common/aws.js';
import { toMapping, userDataBase64 } from '../../src/builders/amazon/common/steps/instance-steps.js';
import type { AccessConfig, BlockDevice } from '../../src/builders/amazon/common/config.js';

describe('amazon waiter settings', () => {
  it('defaults, config over environment, AWS_TIMEOUT_SECONDS, non-integers ignored', () => {
    assert.deepEqual(waitSettings(undefined, INSTANCE_WAIT, {}), { delayMs: 15_000, attempts: 40 });
    assert.deepEqual(
      waitSettings(undefined, INSTANCE_WAIT, { AWS_POLL_DELAY_SECONDS: '3', AWS_MAX_ATTEMPTS: '7' }),
      {
        delayMs: 3000,
        attempts: 7,
      },
    );
    assert.deepEqual(
      waitSettings({ delay_seconds: 1, max_attempts: 2 }, INSTANCE_WAIT, {
        AWS_POLL_DELAY_SECONDS: '3',
        AWS_MAX_ATTEMPTS: '7',
      }),
      {
        delayMs: 1000,
        attempts: 2,
      },
    );
    assert.deepEqual(waitSettings(undefined, INSTANCE_WAIT, { AWS_TIMEOUT_SECONDS: '60' }), {
      delayMs: 2000,
      attempts: 30,
    });
    assert.deepEqual(
      waitSettings(undefined, INSTANCE_WAIT, { AWS_TIMEOUT_SECONDS: '60', AWS_POLL_DELAY_SECONDS: '5' }),
      {
        delayMs: 5000,
        attempts: 12,
      },
    );
    assert.deepEqual(waitSettings(undefined, INSTANCE_WAIT, { AWS_MAX_ATTEMPTS: 'many' }), INSTANCE_WAIT);
  });

  it('the AMI waiter uses 120 attempts only without any override (a delay alone drops it to 40)', () => {
    assert.deepEqual(imageWait(undefined, {}), { delayMs: 15_000, attempts: 120 });
    assert.deepEqual(imageWait(undefined, { AWS_POLL_DELAY_SECONDS: '5' }), { delayMs: 5000, attempts: 40 });
  });

  it('polls immediately, ignores API errors, fails on a failure state, gives up after the attempts', async () => {
    let n = 0;
    const r = await poll(
      async () => {
        n++;
        if (n === 1) throw new Error('throttled');
        return n;
      },
      (v) => (v >= 3 ? 'success' : 'retry'),
      { delayMs: 1, attempts: 5 },
    );
    assert.equal(r, 3);
    await assert.rejects(
      poll(
        async () => 'failed',
        () => 'failure',
        { delayMs: 1, attempts: 5 },
      ),
      (e: Error) =>
        e instanceof WaiterError &&
        e.message === 'ResourceNotReady: failed waiting for successful resource state',
    );
    let calls = 0;
    await assert.rejects(
      poll(
        async () => ++calls,
        () => 'retry',
        { delayMs: 1, attempts: 3 },
      ),
      /ResourceNotReady: exceeded wait attempts/,
    );
    assert.equal(calls, 3);
  });
});

describe('amazon request details', () => {
  const access = (over: Partial<AccessConfig> = {}) =>
    ({
      custom_endpoint_ec2: '',
      access_key: '',
      secret_key: '',
      token: '',
      profile: '',
      shared_credentials_file: '/nonexistent',
      ...over,
    }) as AccessConfig;

  it('endpoint: custom_endpoint_ec2, then AWS_ENDPOINT_URL_EC2, then AWS_ENDPOINT_URL', () => {
    assert.equal(
      ec2Endpoint(access({ custom_endpoint_ec2: 'http://a' }), { AWS_ENDPOINT_URL_EC2: 'http://b' }),
      'http://a',
    );
    assert.equal(
      ec2Endpoint(access(), { AWS_ENDPOINT_URL_EC2: 'http://b', AWS_ENDPOINT_URL: 'http://c' }),
      'http://b',
    );
    assert.equal(ec2Endpoint(access(), { AWS_ENDPOINT_URL: 'http://c' }), 'http://c');
    assert.equal(
      ec2Endpoint(access({ custom_endpoint_ec2: 'ec2.example.com' }), {}),
      'https://ec2.example.com',
    );
    assert.equal(ec2Endpoint(access(), {}), undefined);
  });

  it('credentials: static keys before the environment', () => {
    assert.deepEqual(
      staticCredentials(access({ access_key: 'A', secret_key: 'S' }), {
        AWS_ACCESS_KEY_ID: 'E',
        AWS_SECRET_ACCESS_KEY: 'F',
      }),
      {
        accessKeyId: 'A',
        secretAccessKey: 'S',
        sessionToken: undefined,
      },
    );
    assert.equal(
      staticCredentials(access(), { AWS_ACCESS_KEY_ID: 'E', AWS_SECRET_ACCESS_KEY: 'F' })?.accessKeyId,
      'E',
    );
    assert.equal(staticCredentials(access(), { HOME: '/nonexistent' }), undefined);
  });

  it('block devices: gp3 iops/throughput only when given, io1 always sends Iops, no_device', () => {
    const b = (over: Partial<BlockDevice>): BlockDevice => ({
      device_name: '/dev/xvda',
      volume_type: '',
      volume_size: 0,
      iops: 0,
      throughput: 0,
      kms_key_id: '',
      delete_on_termination: false,
      snapshot_id: '',
      virtual_name: '',
      no_device: false,
      ...over,
    });
    assert.deepEqual(toMapping(b({ volume_type: 'gp3', encrypted: true })), {
      DeviceName: '/dev/xvda',
      Ebs: { DeleteOnTermination: false, VolumeType: 'gp3', Encrypted: true },
    });
    assert.deepEqual(toMapping(b({ volume_type: 'gp3', iops: 4000, throughput: 250 })).Ebs, {
      DeleteOnTermination: false,
      VolumeType: 'gp3',
      Iops: 4000,
      Throughput: 250,
    });
    assert.deepEqual(toMapping(b({ volume_type: 'io1', volume_size: 10 })).Ebs, {
      DeleteOnTermination: false,
      VolumeType: 'io1',
      VolumeSize: 10,
      Iops: 0,
    });
    assert.deepEqual(toMapping(b({ no_device: true })), { DeviceName: '/dev/xvda', NoDevice: '' });
    assert.deepEqual(toMapping(b({ virtual_name: 'ephemeral0' })), {
      DeviceName: '/dev/xvda',
      VirtualName: 'ephemeral0',
    });
  });

  it('user data: valid base64 is sent as is (1.6.6 quirk), other text encoded', () => {
    assert.equal(userDataBase64('aGVsbG8='), 'aGVsbG8=');
    assert.equal(userDataBase64('#!/bin/sh\necho hi'), Buffer.from('#!/bin/sh\necho hi').toString('base64'));
  });
});
