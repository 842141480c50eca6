/**
 * The lazy component table: type name → a function importing its module. The only file that
 * imports concrete components; nothing is loaded until a build needs it, so `kiln validate` of a
 * null-builder template never loads the AWS SDK or ssh2.
 */
import { UserError } from '../util/errors.js';
import type { Builder, PostProcessor, Provisioner } from './types.js';

/** The three component kinds, as Packer names them in messages. */
export type ComponentKind = 'builder' | 'provisioner' | 'post-processor';

interface Kinds {
  builder: Builder;
  provisioner: Provisioner;
  'post-processor': PostProcessor;
}

/** Imports one component module. */
export type Loader = () => Promise<{ create?: unknown }>;

const BUILDERS: Record<string, Loader> = {
  'amazon-ebs': () => import('../builders/amazon-ebs/index.js' as string),
  file: () => import('../builders/file/index.js' as string),
  null: () => import('../builders/null/index.js' as string),
};

const PROVISIONERS: Record<string, Loader> = {
  ansible: () => import('../provisioners/ansible/index.js' as string),
  breakpoint: () => import('../provisioners/breakpoint/index.js' as string),
  file: () => import('../provisioners/file/index.js' as string),
  shell: () => import('../provisioners/shell/index.js' as string),
  'shell-local': () => import('../provisioners/shell-local/index.js' as string),
  sleep: () => import('../provisioners/sleep/index.js' as string),
};

const POST_PROCESSORS: Record<string, Loader> = {
  checksum: () => import('../post-processors/checksum/index.js' as string),
  compress: () => import('../post-processors/compress/index.js' as string),
  manifest: () => import('../post-processors/manifest/index.js' as string),
  'shell-local': () => import('../post-processors/shell-local/index.js' as string),
};

const TABLES: Record<ComponentKind, Record<string, Loader>> = {
  builder: BUILDERS,
  provisioner: PROVISIONERS,
  'post-processor': POST_PROCESSORS,
};

const PLURAL: Record<ComponentKind, string> = {
  builder: 'builders',
  provisioner: 'provisioners',
  'post-processor': 'post-processors',
};

/** Whether kiln appends its own "Known … types" line to unknown-type errors (off in parity mode). */
function hints(): boolean {
  const v = process.env.KILN_PACKER_PARITY;
  return v === undefined || v === '' || v === '0';
}

/** The type names kiln knows for a kind, sorted. */
export function knownTypes(kind: ComponentKind): string[] {
  return Object.keys(TABLES[kind]).sort();
}

/** An unknown component type: Packer's message, plus kiln's list of the known types. */
export class UnknownComponentError extends UserError {
  /** Packer's text alone (`error initializing builder 'x': Unknown builder x`). */
  readonly packerMessage: string;
  /** kiln's addition (`Known builders: a, b`). */
  readonly hint: string;
  constructor(kind: ComponentKind, type: string, known: string[], where = '') {
    // parity: packer/core.go Build(): error initializing …: Unknown …
    const packerMessage = `error initializing ${kind} '${type}': Unknown ${kind} ${type}`;
    const hint = `Known ${PLURAL[kind]}: ${known.join(', ')}${where ? ` (${kind} ${where})` : ''}`;
    super(hints() ? `${packerMessage}\n${hint}` : packerMessage);
    this.name = 'UnknownComponentError';
    this.packerMessage = packerMessage;
    this.hint = hint;
  }
}

/**
 * Imports a component module from `table` and creates an instance. Unknown type →
 * UnknownComponentError (`where` names the template position in kiln's hint line); a known type
 * whose module is missing or exports no create() → a UserError saying so.
 */
export async function loadFrom<T>(
  table: Record<string, Loader>,
  kind: ComponentKind,
  type: string,
  where = '',
): Promise<T> {
  const loader = Object.prototype.hasOwnProperty.call(table, type) ? table[type] : undefined;
  if (!loader) throw new UnknownComponentError(kind, type, Object.keys(table).sort(), where);
  let mod: { create?: unknown };
  try {
    mod = await loader();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') {
      throw new UserError(
        `error initializing ${kind} '${type}': Cannot load ${kind} ${type}: it is not available in this kiln build`,
      );
    }
    throw e;
  }
  if (typeof mod.create !== 'function') {
    throw new UserError(`error initializing ${kind} '${type}': Cannot load ${kind} ${type}: its module exports no create()`);
  }
  return (mod.create as () => T)();
}

/** Creates a component of a registered type (see loadFrom for the errors). */
export async function loadComponent<K extends ComponentKind>(kind: K, type: string, where = ''): Promise<Kinds[K]> {
  return loadFrom<Kinds[K]>(TABLES[kind], kind, type, where);
}
