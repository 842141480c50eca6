// A STAND-IN for AWS's session-manager-plugin, for tests only (the real one needs AWS: it opens the
// session's WebSocket stream to the SSM agent on the instance). The test puts a wrapper named
// `session-manager-plugin` running this file first on PATH.
//
// It checks its arguments exactly as kiln (and Packer 1.6.6) must pass them —
//   1 session JSON {SessionId, StreamUrl, TokenValue}, 2 region, 3 "StartSession", 4 profile "",
//   5 request JSON {DocumentName, Parameters {localPortNumber, portNumber}, Target}, 6 stream URL —
// asks the test moto (test/env/moto/server.py, SsmFake) through the stream URL whether the session
// is active with that token, then listens on localhost:<localPortNumber> and forwards every
// connection to the instance's sshd, KILN_TEST_SSM_FORWARD=<host>:<port>. It prints what the real
// plugin prints, ends when the session is terminated (as the real one does when its stream
// closes) or on SIGINT/SIGTERM (SIGTERM ignored with KILN_TEST_SSM_IGNORE_TERM=1), and appends
// {event, pid, args?} lines to KILN_TEST_SSM_LOG.
import { appendFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { request } from 'node:http';

const log = (doc) => {
  if (process.env.KILN_TEST_SSM_LOG) {
    appendFileSync(process.env.KILN_TEST_SSM_LOG, JSON.stringify({ ...doc, pid: process.pid }) + '\n');
  }
};
const fail = (why) => {
  process.stderr.write(`session-manager-plugin (test stand-in): ${why}\n`);
  log({ event: 'refused', why });
  process.exit(1);
};

const args = process.argv.slice(2);
log({ event: 'start', args });
if (args.length !== 6) fail(`expected 6 arguments, got ${args.length}`);
const [sessionJson, region, operation, profile, requestJson, streamUrl] = args;
let session;
let input;
try {
  session = JSON.parse(sessionJson);
  input = JSON.parse(requestJson);
} catch (err) {
  fail(`argument is not JSON: ${err.message}`);
}
const keys = (o) => JSON.stringify(Object.keys(o ?? {}));
if (keys(session) !== '["SessionId","StreamUrl","TokenValue"]') fail(`session fields ${keys(session)}`);
for (const k of ['SessionId', 'StreamUrl', 'TokenValue']) {
  if (typeof session[k] !== 'string' || session[k] === '') fail(`session ${k} missing`);
}
const wantRegion = process.env.KILN_TEST_SSM_REGION;
if (wantRegion !== undefined && region !== wantRegion) fail(`region ${region}, expected ${wantRegion}`);
if (operation !== 'StartSession') fail(`operation ${operation}`);
if (profile !== '') fail(`profile ${JSON.stringify(profile)}`);
// aws-sdk-go's StartSessionInput, marshalled: `Reason` (null when unset) since aws-sdk-go 1.41, so
// present from Debian's packer 1.6.6 build, absent from upstream's; the real plugin ignores it.
const requestKeys = keys(input).replace(',"Reason"', '');
if (requestKeys !== '["DocumentName","Parameters","Target"]') fail(`request fields ${keys(input)}`);
if (input.Reason !== undefined && input.Reason !== null && typeof input.Reason !== 'string') fail('Reason');
if (input.DocumentName !== 'AWS-StartPortForwardingSession') fail(`document ${input.DocumentName}`);
if (!/^i-[0-9a-f]+$/.test(String(input.Target))) fail(`target ${input.Target}`);
if (keys(input.Parameters) !== '["localPortNumber","portNumber"]')
  fail(`parameters ${keys(input.Parameters)}`);
for (const k of ['localPortNumber', 'portNumber']) {
  const v = input.Parameters[k];
  if (!Array.isArray(v) || v.length !== 1 || !/^\d+$/.test(v[0])) fail(`parameter ${k} ${JSON.stringify(v)}`);
}
if (streamUrl !== session.StreamUrl) fail('stream URL argument differs from the session StreamUrl');
const forward = /^(.+):(\d+)$/.exec(process.env.KILN_TEST_SSM_FORWARD ?? '');
if (!forward) fail('KILN_TEST_SSM_FORWARD=<host>:<port> not set');

/** The session's state at the fake SSM: 200 active, 410 terminated, else refused. */
function sessionStatus() {
  const url = new URL(streamUrl.replace(/^ws/, 'http'));
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        headers: { 'X-Kiln-Ssm-Token': session.TokenValue },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

const id = session.SessionId;
const localPort = Number(input.Parameters.localPortNumber[0]);
const status = await sessionStatus();
if (status !== 200) fail(`session ${id} is not active at the stream URL (HTTP ${status})`);

process.stdout.write(`\nStarting session with SessionId: ${id}\n`);
const sockets = new Set();
const server = createServer((client) => {
  process.stdout.write(`Connection accepted for session [${id}]\n`);
  const upstream = connect({ host: forward[1], port: Number(forward[2]) });
  sockets.add(client);
  sockets.add(upstream);
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
    sockets.delete(client);
    sockets.delete(upstream);
  };
  client.on('error', end).on('close', end);
  upstream.on('error', end).on('close', end);
});
server.on('error', (err) => fail(`cannot listen on port ${localPort}: ${err.message}`));
server.listen({ host: '127.0.0.1', port: localPort }, () => {
  log({ event: 'listening', port: localPort, session: id });
  process.stdout.write(`Port ${localPort} opened for sessionId ${id}.\nWaiting for connections...\n`);
});

const exit = (event, code) => {
  log({ event });
  server.close();
  for (const s of sockets) s.destroy();
  process.exit(code);
};
process.on('SIGTERM', () => {
  // KILN_TEST_SSM_IGNORE_TERM=1: a plugin that does not stop when asked (kiln must kill it).
  if (process.env.KILN_TEST_SSM_IGNORE_TERM === '1') log({ event: 'SIGTERM-ignored' });
  else exit('SIGTERM', 0);
});
process.on('SIGINT', () => exit('SIGINT', 0));
let unreachable = 0;
const watch = setInterval(async () => {
  const now = await sessionStatus();
  if (now === 410) {
    clearInterval(watch);
    process.stdout.write(`\n\nExiting session with sessionId: ${id}.\n\n`);
    exit('terminated', 0);
  }
  // The fake SSM is gone (the test ended): so is the session; never linger as an orphan.
  unreachable = now === 0 ? unreachable + 1 : 0;
  if (unreachable >= 3) {
    clearInterval(watch);
    exit('ssm-unreachable', 1);
  }
}, 500);
