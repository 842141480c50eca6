/**
 * A PackerConfig with the defaults of a plain `kiln build` (no -debug, -force, -on-error=cleanup, no
 * user variables), for code that runs one component outside the core: tests, benchmarks, tools.
 */
import { randomUUID } from 'node:crypto';
import type { PackerConfig } from './types.js';
import { CORE_VERSION } from './version.js';

export function packerConfigWith(
  over: Partial<PackerConfig> & Pick<PackerConfig, 'buildName' | 'builderType'>,
): PackerConfig {
  return {
    coreVersion: CORE_VERSION,
    debug: false,
    force: false,
    onError: 'cleanup',
    templatePath: '',
    userVariables: {},
    sensitive: [],
    initTime: new Date(),
    runUuid: randomUUID(),
    ...over,
  };
}
