/**
 * The `packer fix` fixers that touch provisioners and post-processors (and the two that touch
 * builders as well), from Packer 1.6.6 fix/fixer_*.go, checked against the real `packer fix`.
 */
import { goKindName } from '../config/weak.js';
import { fixDockerEmailBuilders } from './fixers-builders.js';
import { eachBuilder, eachPostProcessor, eachProvisioner, FixError, isMap, isString, renameKey, type JsonMap } from './template-parts.js';

/** pp-vagrant-override: old per-provider keys of the vagrant post-processor move under `override`. */
export function fixVagrantPPOverride(input: JsonMap): JsonMap {
  return eachPostProcessor(input, (pp) => {
    if (pp.type !== 'vagrant') return;
    const overrides: JsonMap = {};
    for (const provider of ['aws', 'digitalocean', 'virtualbox', 'vmware']) {
      if (!Object.hasOwn(pp, provider)) continue;
      overrides[provider] = pp[provider];
      delete pp[provider];
    }
    if (Object.keys(overrides).length > 0) pp.override = overrides;
  });
}

/** virtualbox-rename: builder type `virtualbox` → `virtualbox-iso`, and the provisioner overrides' key. */
export function fixVirtualBoxRename(input: JsonMap): JsonMap {
  eachBuilder(input, (b, type) => {
    if (type === 'virtualbox') b.type = 'virtualbox-iso';
  });
  return eachProvisioner(input, (p) => {
    if (!Object.hasOwn(p, 'override') || p.override === null) return;
    if (!isMap(p.override)) throw new FixError(`'' expected a map, got '${goKindName(p.override)}'`); // parity:
    renameKey(p.override, 'virtualbox', 'virtualbox-iso', { overwrite: true });
  });
}

/** manifest-filename: manifest `filename` → `output` (replacing an existing output). */
export function fixManifestFilename(input: JsonMap): JsonMap {
  return eachPostProcessor(input, (pp) => {
    if (pp.type === 'manifest') renameKey(pp, 'filename', 'output', { accept: isString, overwrite: true });
  });
}

/** docker-email: drops `login_email` from every builder and post-processor. */
export function fixDockerEmail(input: JsonMap): JsonMap {
  fixDockerEmailBuilders(input);
  return eachPostProcessor(input, (pp) => {
    delete pp.login_email;
  });
}

/** docker-tag-tags: docker-tag `tag` is prepended to `tags` (a list). */
export function fixDockerTagToTags(input: JsonMap): JsonMap {
  return eachPostProcessor(input, (pp) => {
    if (pp.type !== 'docker-tag' || !Object.hasOwn(pp, 'tag')) return;
    const asList = (v: unknown): string[] => (isString(v) ? [v] : Array.isArray(v) ? v.filter(isString) : []);
    pp.tags = [...asList(pp.tag), ...asList(pp.tags)];
    delete pp.tag;
  });
}

/** Removes the PowerShell escapes "`$", "`\"", "``" and "`'" (left to right, like strings.Replacer). */
function unescapePowerShell(s: string): string {
  return s.replace(/`([$"`'])/g, '$1');
}

/** powershell-escapes: unescapes powershell `environment_vars`, `elevated_user`, `elevated_password`. */
export function fixPowerShellEscapes(input: JsonMap): JsonMap {
  return eachProvisioner(input, (p) => {
    if (p.type !== 'powershell') return;
    if (Array.isArray(p.environment_vars) && p.environment_vars.every(isString)) {
      p.environment_vars = p.environment_vars.map(unescapePowerShell);
    }
    for (const key of ['elevated_user', 'elevated_password']) {
      const v = p[key];
      if (isString(v)) p[key] = unescapePowerShell(v);
    }
  });
}

/** galaxy-command: ansible-local `galaxycommand` → `galaxy_command` (an existing one wins). */
export function fixGalaxyCommand(input: JsonMap): JsonMap {
  return eachProvisioner(input, (p) => {
    if (p.type === 'ansible-local') renameKey(p, 'galaxycommand', 'galaxy_command', { accept: isString });
  });
}
