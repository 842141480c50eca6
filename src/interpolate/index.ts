/**
 * Packer's interpolation engine: Go text/template semantics with Packer's function set.
 * Public API only; the engine lives beside this file. (Stub signatures: being implemented.)
 */

/** What a render may see. Mirrors Packer's interpolate.Context and the per-context rules of spec §3.4. */
export interface InterpolateContext {
  /** User variables visible to {{user `x`}}. */
  userVariables?: Record<string, string>;
  /**
   * Rendering the `variables` section: `user` is strict (unknown → "Error: variable not set: x"),
   * and env/consul_key/vault/aws_secretsmanager are allowed. Elsewhere they error "… not allowed here".
   */
  variablesSection?: boolean;
  /** Absolute path of the template file; `template_dir` errors "template path not available" without it. */
  templatePath?: string;
  /** Rendered build name; absent → `build_name not available`. */
  buildName?: string;
  /** Builder type; absent → `build_type not available`. */
  buildType?: string;
  /** False in core contexts (variables, console, build names): `packer_version not available`. */
  packerVersion?: string;
  /** Data for `{{ .Key }}`; a missing key renders `<no value>`. */
  data?: Record<string, unknown> | null;
  /** Generated data for the `build` function; undefined → the "not passed into your plugin" error. */
  buildData?: Record<string, string>;
  /** Extra functions, e.g. a builder's clean_resource_name. */
  extraFuncs?: Record<string, (...args: unknown[]) => unknown>;
  /** The run's fixed instant for timestamp/isotime/strftime. */
  initTime: Date;
  /** Environment for `env` (default process.env). */
  env?: Record<string, string | undefined>;
}

export class InterpolateError extends Error {
  /** 'parse' for syntax errors, 'exec' for execution errors. */
  readonly kind: 'parse' | 'exec';
  constructor(kind: 'parse' | 'exec', message: string) {
    super(message);
    this.name = 'InterpolateError';
    this.kind = kind;
  }
}
