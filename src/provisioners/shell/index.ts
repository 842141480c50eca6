/** The `shell` provisioner (Packer's provisioner/shell): uploads scripts and runs them over the communicator. */
import { defineProvisioner } from '../define.js';
import { prepareShell } from './config.js';
import { runShell } from './run.js';

export const create = defineProvisioner({ name: 'shell', prepare: prepareShell, provision: runShell });
