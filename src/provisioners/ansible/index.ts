/**
 * The `ansible` (remote) provisioner: runs ansible-playbook on the kiln host against the machine
 * being built, through a local SSH proxy (src/adapter) or directly (use_proxy: false).
 */
import { defineProvisioner } from '../define.js';
import { prepareAnsible } from './config.js';

export type { AnsibleConfig } from './config.js';

export const create = defineProvisioner({
  name: 'ansible',
  prepare: prepareAnsible,
  /** The golden-image checks (docs/ansible.md): tasks that start services on the build instance. */
  async warnings(cfg) {
    if (cfg.goldenImageChecks === false) return [];
    const { checkPlaybook, goldenImageChecksDisabled } = await import('./golden-image.js');
    if (goldenImageChecksDisabled()) return [];
    return checkPlaybook(cfg.playbookFile, cfg.rolesPath ? [cfg.rolesPath] : []);
  },
  async provision(cfg, pc, ctx) {
    const { provisionAnsible } = await import('./provision.js');
    await provisionAnsible(cfg, pc, ctx);
  },
});
