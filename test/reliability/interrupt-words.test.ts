/**
 * The error of a step stopped by Ctrl-C reads as aws-sdk-go's (what Packer prints), whatever Node or
 * the AWS SDK for JavaScript said: a wait reports its waiter's cancellation, a call its request's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cancelledText } from '../../src/builders/amazon-ebs/run.js';

test('a wait stopped by Ctrl-C: RequestCanceled: waiter context canceled', () => {
  for (const node of ['Request aborted', 'This operation was aborted', 'The operation was aborted']) {
    assert.equal(
      cancelledText(`Error waiting for AMI: ${node}`),
      'Error waiting for AMI: RequestCanceled: waiter context canceled\ncaused by: context canceled',
    );
  }
});

test('a call stopped by Ctrl-C: RequestCanceled: request context canceled', () => {
  assert.equal(
    cancelledText('Error authorizing temporary security group: Request aborted'),
    'Error authorizing temporary security group: RequestCanceled: request context canceled\ncaused by: context canceled',
  );
});

test('any other error is left as it is', () => {
  for (const msg of [
    'Script exited with non-zero exit status: 3.Allowed exit codes are: [0]',
    'Timeout waiting for SSH.',
    'Request aborted',
    'Error waiting for AMI: Request aborted by the user, said nobody',
  ]) {
    assert.equal(cancelledText(msg), msg);
  }
});
