#!/usr/bin/env node
// kiln's main job on the local environment: starts an EC2-compatible endpoint (moto), an sshd
// playing the instance (authorizing the launched key pair like cloud-init), a bastion sshd and an
// ssh-agent, all on 127.0.0.1; runs `kiln build` of examples/aws-ami/config.json against them;
// shows the AMI that was made, with its tags and snapshot; stops what it started.
// Run through scripts/demo.sh, which installs and compiles first.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startMoto, startMotoInstance } = await import(join(root, 'dist/test/env/moto.js'));
// As kiln does (src/builders/amazon/common/aws.ts): no SDK warning about Node 20 in the demo's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ec2sdk = await import('@aws-sdk/client-ec2');

const moto = await startMoto();
let inst;
let code = 1;
try {
  inst = await startMotoInstance(moto);
  console.log(`local environment: EC2 endpoint ${moto.endpoint}, instance sshd 127.0.0.1:${inst.port}, ` +
    `bastion 127.0.0.1:${inst.bastion.port}, ssh-agent ${inst.agentSock}\n`);
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
    env_name: 'dev',
    kms_key_id: moto.seed.kms_key_id,
    SG_DEFAULT: moto.seed.security_group_id,
    USER: inst.bastion.user,
    INSTANCE_USER: inst.user,
    SSH_AUTH_SOCK: inst.agentSock,
  };
  const args = [
    join(root, 'bin/kiln'), 'build',
    '-var', `ec2_endpoint=${moto.endpoint}`,
    '-var', `instance_user=${inst.user}`,
    '-var', 'ssh_host=127.0.0.1', '-var', `ssh_port=${inst.port}`,
    '-var', 'bastion_host=127.0.0.1', '-var', `bastion_port=${inst.bastion.port}`,
    ...process.argv.slice(2),
    'config.json',
  ];
  let out = '';
  code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: join(root, 'examples/aws-ami'), env, stdio: ['inherit', 'pipe', 'inherit'] });
    child.stdout.on('data', (d) => { process.stdout.write(d); out += d; });
    child.on('close', (c) => resolve(c ?? 1));
  });
  const ami = /AMIs were created:\s*\n[\w-]+: (ami-[0-9a-f]+)/.exec(out)?.[1];
  if (ami) {
    const api = new ec2sdk.EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const img = (await api.send(new ec2sdk.DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    const tags = (t) => (t ?? []).map((x) => `${x.Key}=${x.Value}`).join(', ');
    console.log(`\nThe image in the local EC2:\n  ${ami}  ${img?.Name}  state=${img?.State}\n  tags: ${tags(img?.Tags)}`);
    const snaps = (img?.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter(Boolean);
    if (snaps.length) {
      const s = await api.send(new ec2sdk.DescribeSnapshotsCommand({ SnapshotIds: snaps }));
      for (const snap of s.Snapshots ?? []) console.log(`  snapshot ${snap.SnapshotId}: encrypted=${snap.Encrypted} tags: ${tags(snap.Tags)}`);
      if ((s.Snapshots ?? []).some((snap) => !snap.Encrypted))
        console.log('  (moto does not carry the root volume\'s KMS encryption over to the snapshot CreateImage makes; EC2 does)');
    }
    const keys = await api.send(new ec2sdk.DescribeKeyPairsCommand({}));
    const left = (keys.KeyPairs ?? []).filter((k) => /^packer_/.test(k.KeyName ?? ''));
    console.log(`  temporary key pairs left: ${left.length}`);
  }
} finally {
  await inst?.stop();
  await moto.stop();
}
process.exit(code);
