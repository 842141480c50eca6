/** The `null` builder: connect and provision, no artifact content (Packer's builder/null). */
import type { Builder } from '../../core/types.js';
import { NullBuilder } from './builder.js';

export { NullBuilder, NullArtifact, nullSteps, type NullState } from './builder.js';

export function create(): Builder {
  return new NullBuilder();
}
