/**
 * The communicator options the amazon builders embed: the shared table of
 * src/communicator/config.ts; the connect step's SSH options come from
 * src/communicator/connect-options.ts.
 */
import { communicatorFields, type CommunicatorConfig } from '../../../communicator/config.js';

export const commFields = communicatorFields;
export type CommDecoded = CommunicatorConfig;

export { sshOptions } from '../../../communicator/connect-options.js';
