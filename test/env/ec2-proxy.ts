/**
 * An HTTP proxy in front of the tests' moto (or any EC2-compatible endpoint) on 127.0.0.1 and a
 * free port. Every request passes through `policy`, which may let it through, hold it back for a
 * while, answer it with an error of its own, drop the connection, or let it through and then
 * replace moto's answer. The tests use it to slow an action down (so that a signal lands "while
 * waiting"), and to inject the faults of a flaky cloud (throttling, 500s, dropped connections,
 * NotFound right after a create).
 *
 * Point kiln at `proxy.endpoint` (custom_endpoint_ec2 or AWS_ENDPOINT_URL_EC2); keep talking to
 * moto directly for set-up and end-state checks.
 *
 * IAM calls pass too (kiln sends them to custom_endpoint_ec2, as Packer 1.6.6 did; moto serves IAM
 * on the same port): the policy sees `service` and `region` from the request's SigV4 credential
 * scope, and an error it chooses for an IAM request is answered in IAM's document shape
 * (`<ErrorResponse><Error><Type>…`), which the IAM client parses.
 *
 * CreateFleet and CopyImage honour ClientToken here, as on EC2 (moto 5.2.1 ignores it): a request
 * repeating the token of one that moto answered with 200 gets that answer again, and moto is not
 * asked (a retry after a lost answer makes no second fleet instance or AMI copy).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort } from './ssh-env.js';

/** One request as the policy sees it. `params` is the decoded form body (EC2's query protocol). */
export interface ProxyRequest {
  action: string;
  params: URLSearchParams;
  /** 1 for the first request with this action since the proxy started, 2 for the second, … */
  nth: number;
  /** The signing service of the request ('ec2', 'iam', …; '' when unsigned). */
  service: string;
  /** The signing region ('us-east-1', …; '' when unsigned). */
  region: string;
}

export type ProxyDecision =
  | 'pass'
  /** Hold the request for `ms`, then pass it on (or apply `then`). */
  | { delayMs: number; then?: Exclude<ProxyDecision, 'pass' | { delayMs: number }> }
  /** Answer without asking moto, with an EC2 error document. */
  | { status: number; code: string; message?: string }
  /** Destroy the client's socket without an answer. */
  | 'drop'
  /** Pass the request to moto, then drop the connection instead of returning its answer. */
  | 'drop-after'
  /** Pass the request to moto at once, hold moto's answer back for `ms` (the call is "in flight" though done). */
  | { holdAnswerMs: number };

export type ProxyPolicy = (req: ProxyRequest) => ProxyDecision;

export interface ProxyLogEntry {
  action: string;
  /** What the proxy did: 'pass', 'delay', 'hold-answer', 'error:<code>', 'drop', 'drop-after'. */
  outcome: string;
  /** moto's status when the request reached it, else 0. */
  status: number;
}

export interface Ec2Proxy {
  endpoint: string;
  port: number;
  /** Replace the policy (takes effect for the next request). */
  setPolicy(policy: ProxyPolicy): void;
  /** Every request seen so far, oldest first. */
  log(): ProxyLogEntry[];
  clearLog(): void;
  stop(): Promise<void>;
}

export const passAll: ProxyPolicy = () => 'pass';

/** The actions whose ClientToken the proxy makes idempotent (see `startEc2Proxy`). */
const IDEMPOTENT = new Set(['CreateFleet', 'CopyImage']);

export function ec2Error(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
    '<RequestID>kiln-ec2-proxy</RequestID></Response>'
  );
}

/** An error document in the shape of IAM's (and STS's) query protocol. */
export function queryError(code: string, message: string, status: number): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>` +
    `<Message>${message}</Message></Error><RequestId>kiln-ec2-proxy</RequestId></ErrorResponse>`
  );
}

/** Service and region of a SigV4 `Authorization` header (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
export function signingScope(authorization: string | undefined): { service: string; region: string } {
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return { region: m?.[1] ?? '', service: m?.[2] ?? '' };
}

export async function startEc2Proxy(target: string, policy: ProxyPolicy = passAll): Promise<Ec2Proxy> {
  const upstream = new URL(target);
  const port = await freePort();
  const counts = new Map<string, number>();
  const entries: ProxyLogEntry[] = [];
  let current = policy;

  // ClientToken idempotency moto 5.2.1 lacks for these actions (EC2 documents it for both): a
  // request repeating the token of one moto answered gets that answer again, without a 2nd fleet
  // or copy. (RunInstances' is in test/env/moto/server.py.)
  const answered = new Map<string, { status: number; headers: IncomingMessage['headers']; body: Buffer }>();
  const tokenKey = (req: IncomingMessage, body: Buffer): string => {
    const params = new URLSearchParams(body.toString('utf8'));
    const action = params.get('Action') ?? '';
    const token = params.get('ClientToken') ?? '';
    if (!IDEMPOTENT.has(action) || token === '') return '';
    return `${signingScope(req.headers.authorization).region}/${action}/${token}`;
  };

  const forward = (
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    entry: ProxyLogEntry,
    dropAfter: boolean,
    holdAnswerMs = 0,
  ): void => {
    const key = tokenKey(req, body);
    const earlier = key === '' ? undefined : answered.get(key);
    if (earlier) {
      entry.status = earlier.status;
      if (dropAfter) {
        res.socket?.destroy();
        return;
      }
      const reply = () => {
        res.writeHead(earlier.status, earlier.headers);
        res.end(earlier.body);
      };
      if (holdAnswerMs > 0) setTimeout(reply, holdAnswerMs);
      else reply();
      return;
    }
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          if (key !== '' && answer.statusCode === 200) {
            answered.set(key, { status: 200, headers: answer.headers, body: Buffer.concat(chunks) });
          }
          if (dropAfter) {
            res.socket?.destroy();
            return;
          }
          const reply = () => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(chunks));
          };
          if (holdAnswerMs > 0) setTimeout(reply, holdAnswerMs);
          else reply();
        });
      },
    );
    out.on('error', () => res.socket?.destroy());
    out.end(body);
  };

  const apply = (
    decision: ProxyDecision,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    entry: ProxyLogEntry,
    service: string,
  ): void => {
    if (decision === 'pass') {
      forward(req, body, res, entry, false);
    } else if (decision === 'drop') {
      entry.outcome = 'drop';
      res.socket?.destroy();
    } else if (decision === 'drop-after') {
      entry.outcome = 'drop-after';
      forward(req, body, res, entry, true);
    } else if ('holdAnswerMs' in decision) {
      entry.outcome = 'hold-answer';
      forward(req, body, res, entry, false, decision.holdAnswerMs);
    } else if ('delayMs' in decision) {
      entry.outcome = 'delay';
      setTimeout(() => apply(decision.then ?? 'pass', req, body, res, entry, service), decision.delayMs);
    } else {
      entry.outcome = `error:${decision.code}`;
      const message = decision.message ?? decision.code;
      const doc =
        service === 'iam' || service === 'sts'
          ? queryError(decision.code, message, decision.status)
          : ec2Error(decision.code, message);
      res.writeHead(decision.status, {
        'content-type': 'text/xml;charset=UTF-8',
        'content-length': Buffer.byteLength(doc),
      });
      res.end(doc);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString('utf8'));
      const action =
        params.get('Action') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('Action') ?? '';
      const nth = (counts.get(action) ?? 0) + 1;
      counts.set(action, nth);
      const { service, region } = signingScope(req.headers.authorization);
      const entry: ProxyLogEntry = { action, outcome: 'pass', status: 0 };
      entries.push(entry);
      let decision: ProxyDecision;
      try {
        decision = current({ action, params, nth, service, region });
      } catch {
        decision = 'pass';
      }
      apply(decision, req, body, res, entry, service);
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    setPolicy(p) {
      current = p;
    },
    log: () => entries.slice(),
    clearLog() {
      entries.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
