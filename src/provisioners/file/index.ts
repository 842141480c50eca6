/** The `file` provisioner (Packer's provisioner/file): uploads or downloads files and directories. */
import { defineProvisioner } from '../define.js';
import { prepareFile } from './config.js';
import { runFile } from './run.js';

export const create = defineProvisioner({ name: 'file', prepare: prepareFile, provision: runFile });
