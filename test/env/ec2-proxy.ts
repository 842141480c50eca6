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
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort } from './ssh-env.js';

/** One request as the policy sees it. `params` is the decoded form body (EC2's query protocol). */
export interface ProxyRequest {
  action: string;
  params: URLSearchParams;
  /** 1 for the first request with this action since the proxy started, 2 for the second, … */
  nth: number;
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

export function ec2Error(code: string, message: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
    '<RequestID>kiln-ec2-proxy</RequestID></Response>'
  );
}

export async function startEc2Proxy(target: string, policy: ProxyPolicy = passAll): Promise<Ec2Proxy> {
  const upstream = new URL(target);
  const port = await freePort();
  const counts = new Map<string, number>();
  const entries: ProxyLogEntry[] = [];
  let current = policy;

  const forward = (
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    entry: ProxyLogEntry,
    dropAfter: boolean,
    holdAnswerMs = 0,
  ): void => {
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
      setTimeout(() => apply(decision.then ?? 'pass', req, body, res, entry), decision.delayMs);
    } else {
      entry.outcome = `error:${decision.code}`;
      const doc = ec2Error(decision.code, decision.message ?? decision.code);
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
      const entry: ProxyLogEntry = { action, outcome: 'pass', status: 0 };
      entries.push(entry);
      let decision: ProxyDecision;
      try {
        decision = current({ action, params, nth });
      } catch {
        decision = 'pass';
      }
      apply(decision, req, body, res, entry);
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
