/** The local SSH proxy ansible talks to. Import lazily: server.ts loads ssh2. */
export type { Adapter, AdapterOptions } from './server.js';
export { startAdapter } from './server.js';
export { generateKeyPair, type KeyPair, type KeyType } from './keys.js';
export { parseScpCommand, scpSink, scpSource, type ScpCommand, type ScpTarget } from './scp.js';
