/** The `shell-local` provisioner (Packer's provisioner/shell-local): runs scripts on the machine running kiln. */
import { defineProvisioner } from '../define.js';
import { prepareShellLocal } from './config.js';
import { runShellLocal } from './run.js';

export const create = defineProvisioner({
  name: 'shell-local',
  prepare: (raws, pc, placeholder) => prepareShellLocal(raws, pc, placeholder, false),
  provision: (cfg, pc, ctx) => runShellLocal(cfg, pc, ctx.ui, ctx.data, ctx.signal),
});
