/**
 * kiln's core: from a template file and the user's variables to prepared builds. Mirrors Packer
 * 1.6.6's packer/core.go (`NewCore` → validate, min version, required variables, variable
 * rendering, sensitive values, build names) and `Core.Build`/`GetBuilds` (component lookup,
 * provisioner wrappers' settings, post-processor chains, preparation with diagnostics).
 */
import { randomUUID } from 'node:crypto';
import { UserError, goMultiError } from '../util/errors.js';
import type {
  Builder,
  GeneratedData,
  OnError,
  PackerConfig,
  PostProcessor,
  PrepareResult,
  Provisioner,
  RawConfig,
} from './types.js';
import { basename } from 'node:path';
import type { SourcePos, Template, TemplateProvisioner } from '../template/types.js';
import { parseTemplateFile } from '../template/parse.js';
import { templateProblems } from '../template/validate.js';
import { checkMinVersion } from '../template/min-version.js';
import { readVarFiles, renderVariables, requiredVariableErrors } from '../template/variables.js';
import { registerSecret } from '../template/secrets.js';
import { renderBuildNames, renderMaxRetries } from '../template/render.js';
import { loadComponent } from './registry.js';
import { goQuote } from '../template/go-quote.js';
import { CoreInitError, type Diagnostic } from './errors.js';

import { CORE_VERSION } from './version.js';
import { placeholderData } from '../config/decode.js';

export { CORE_VERSION };

export { CoreInitError, type Diagnostic } from './errors.js';

/** Inputs of `initializeCore`. */
export interface InitializeOptions {
  /** Path of the template file as the user gave it; ignored when `template` is given. */
  templatePath?: string;
  /** An already parsed template (e.g. console's internal one). */
  template?: Template;
  /** `-var k=v` values in command-line order (later wins). */
  vars?: Array<[string, string]>;
  /** `-var-file` paths in command-line order (later files win; `-var` beats all). */
  varFiles?: string[];
  /** Values already read from var files (instead of `varFiles`). */
  fileVars?: Record<string, string>;
  /** Version checked by min_packer_version; default CORE_VERSION. */
  coreVersion?: string;
  /** The run's fixed instant; default now. */
  initTime?: Date;
  /** Environment for `env` in variables; default process.env. */
  env?: Record<string, string | undefined>;
  /**
   * inspect/console: on an initialization failure return a Core anyway (with `initError` set and
   * whatever was rendered so far) instead of throwing.
   */
  tolerateInitErrors?: boolean;
}

/** Inputs of `Core.createBuilds` (the build/validate flags). */
export interface CreateBuildsOptions {
  /** Rendered build names to keep (empty = all). */
  only?: string[];
  /** Rendered build names and post-processor names to drop. */
  except?: string[];
  debug?: boolean;
  force?: boolean;
  onError?: OnError;
}

/** A provisioner of a build, created and prepared, with the settings of Packer's wrappers. */
export interface CoreProvisioner {
  type: string;
  provisioner: Provisioner;
  /** `pause_before` (0 = none). When non-zero, Packer ignores `timeoutMs` (quirk, spec §1.13). */
  pauseBeforeMs: number;
  /** `timeout` (0 = none). */
  timeoutMs: number;
  /** Rendered and parsed `max_retries` (0 = no retry wrapper). */
  maxRetries: number;
  /** The config layers handed to `prepare`: [template config, override (if any)]. */
  raws: RawConfig[];
}

/** A post-processor of a chain, created and configured. */
export interface CorePostProcessor {
  type: string;
  /** `name`, defaulting to the type. */
  name: string;
  /** The user's `keep_input_artifact`; undefined when absent (tri-state). */
  keepInputArtifact?: boolean;
  postProcessor: PostProcessor;
  /** The config layers handed to `configure`. */
  raws: RawConfig[];
}

/** One selected and prepared build (Packer's CoreBuild). */
export interface CoreBuild {
  /** Rendered build name. */
  name: string;
  /** Raw (uninterpolated) builder name, used for only/except/override matching. */
  rawName: string;
  /** Builder type. */
  type: string;
  builder: Builder;
  prepareResult: PrepareResult;
  provisioners: CoreProvisioner[];
  cleanupProvisioner?: CoreProvisioner;
  /** Chains in template order; empty chains are dropped. */
  postProcessors: CorePostProcessor[][];
  packerConfig: PackerConfig;
  /** The prepare-time placeholder map given to provisioners and post-processors (spec §3.6). */
  placeholderData: GeneratedData;
}

/** An initialized template: rendered variables and build names, ready to create builds. */
export interface Core {
  template: Template;
  /** Absolute template path ('' for an internal template). */
  templatePath: string;
  /** Final user variables (defaults, var files, -var, rendered). */
  userVariables: Record<string, string>;
  /** Sensitive values registered for masking. */
  sensitive: string[];
  /** Rendered build name → raw builder name. Sorted by rendered name. */
  buildNames: Map<string, string>;
  initTime: Date;
  runUuid: string;
  coreVersion: string;
  /** Set only with `tolerateInitErrors` when initialization failed. */
  initError?: CoreInitError;
  /**
   * Creates and prepares the builds selected by only/except (sorted by name). Problems become
   * diagnostics (`Failed to initialize build "<n>"`, `Failed to prepare build: "<n>"`, warnings);
   * builds that failed are left out, the others are returned.
   */
  createBuilds(opts: CreateBuildsOptions): Promise<{ builds: CoreBuild[]; diagnostics: Diagnostic[] }>;
}

/** Parses the template file and reads var files; throws UserError with Packer's texts. */
export async function loadTemplate(templatePath: string): Promise<Template> {
  return parseTemplateFile(templatePath);
}

/**
 * Packer's NewCore: parse (unless given), read var files, validate, check min_packer_version,
 * check required variables, render variables, register sensitive values, render build names.
 * Throws UserError for parse/var-file problems and CoreInitError for initialization problems.
 */
export async function initializeCore(opts: InitializeOptions): Promise<Core> {
  const template = opts.template ?? (await parseTemplateFile(opts.templatePath ?? ''));
  const fileVars = opts.fileVars ?? (await readVarFiles(opts.varFiles ?? []));
  const cliVars: Record<string, string> = { ...fileVars };
  for (const [k, v] of opts.vars ?? []) cliVars[k] = v;
  const core = new CoreImpl(template, opts);
  try {
    try {
      core.initialize(cliVars, opts.env ?? process.env);
    } catch (e) {
      if (e instanceof UserError && !(e instanceof CoreInitError)) throw new CoreInitError(e.message);
      throw e;
    }
  } catch (e) {
    if (!(e instanceof CoreInitError) || !opts.tolerateInitErrors) throw e;
    core.initError = e;
  }
  return core;
}

export { placeholderData };

class CoreImpl implements Core {
  templatePath: string;
  userVariables: Record<string, string> = {};
  sensitive: string[] = [];
  buildNames = new Map<string, string>();
  initTime: Date;
  runUuid = randomUUID();
  coreVersion: string;
  initError?: CoreInitError;

  constructor(
    readonly template: Template,
    opts: InitializeOptions,
  ) {
    this.templatePath = template.path ?? '';
    this.initTime = opts.initTime ?? new Date();
    this.coreVersion = opts.coreVersion ?? CORE_VERSION;
  }

  initialize(cliVars: Record<string, string>, env: Record<string, string | undefined>): void {
    const t = this.template;
    const problems = templateProblems(t);
    if (problems.length) throw new CoreInitError(goMultiError(problems));
    const versionProblem = checkMinVersion(t.minVersion, this.coreVersion);
    if (versionProblem) throw new CoreInitError(versionProblem);
    const missing = requiredVariableErrors(t, cliVars);
    if (missing.length) throw new CoreInitError(goMultiError(missing));
    this.userVariables = renderVariables(t, cliVars, {
      initTime: this.initTime,
      templatePath: this.templatePath || undefined,
      env,
    });
    for (const name of t.sensitiveVariables) {
      if (!t.variables.has(name)) continue;
      const value = this.userVariables[name] ?? '';
      this.sensitive.push(value);
      registerSecret(value);
    }
    this.buildNames = renderBuildNames(t, this.userVariables, {
      initTime: this.initTime,
      templatePath: this.templatePath || undefined,
    });
  }

  async createBuilds(opts: CreateBuildsOptions): Promise<{ builds: CoreBuild[]; diagnostics: Diagnostic[] }> {
    const only = opts.only ?? [];
    const except = opts.except ?? [];
    const names = [...this.buildNames.keys()]
      .filter((n) => only.length === 0 || only.includes(n))
      .filter((n) => !except.includes(n))
      .sort();
    const builds: CoreBuild[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const name of names) {
      let build: CoreBuild;
      try {
        build = await this.createBuild(name, opts, except);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        diagnostics.push({ severity: 'error', summary: `Failed to initialize build ${goQuote(name)}`, detail: e.message });
        continue;
      }
      try {
        // One warning diagnostic per builder warning, as Packer's GetBuilds does.
        for (const w of await this.prepareBuild(build)) {
          diagnostics.push({ severity: 'warning', summary: `Warning when preparing build: ${goQuote(name)}`, detail: w });
        }
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        diagnostics.push({ severity: 'error', summary: `Failed to prepare build: ${goQuote(name)}`, detail: e.message });
        continue;
      }
      builds.push(build);
    }
    return { builds, diagnostics };
  }

  private async createBuild(name: string, opts: CreateBuildsOptions, except: string[]): Promise<CoreBuild> {
    const rawName = this.buildNames.get(name) ?? name;
    const tb = this.template.builders.get(rawName);
    if (!tb) throw new UserError(`no such build found: ${name}`); // parity: packer/core.go
    const builder = await loadComponent('builder', tb.type, at(tb.pos, this.templatePath));
    const provisioners: CoreProvisioner[] = [];
    for (const tp of this.template.provisioners) {
      if (skips(tp.only, tp.except, rawName)) continue;
      provisioners.push(await this.coreProvisioner(tp, rawName));
    }
    const cleanupProvisioner = this.template.cleanupProvisioner
      ? await this.coreProvisioner(this.template.cleanupProvisioner, rawName)
      : undefined;
    const postProcessors: CorePostProcessor[][] = [];
    for (const chain of this.template.postProcessors) {
      const out: CorePostProcessor[] = [];
      for (const tpp of chain) {
        if (skips(tpp.only, tpp.except, rawName)) continue;
        if (except.includes(tpp.name)) break;
        out.push({
          type: tpp.type,
          name: tpp.name,
          keepInputArtifact: tpp.keepInputArtifact,
          postProcessor: await loadComponent('post-processor', tpp.type, at(tpp.pos, this.templatePath)),
          raws: [tpp.config],
        });
      }
      if (out.length) postProcessors.push(out);
    }
    return {
      name,
      rawName,
      type: tb.type,
      builder,
      prepareResult: {},
      provisioners,
      cleanupProvisioner,
      postProcessors,
      packerConfig: {
        buildName: name,
        builderType: tb.type,
        coreVersion: this.coreVersion,
        debug: opts.debug ?? false,
        force: opts.force ?? false,
        onError: opts.onError ?? 'cleanup',
        templatePath: this.templatePath,
        userVariables: { ...this.userVariables },
        sensitive: [...this.sensitive],
        initTime: this.initTime,
        runUuid: this.runUuid,
      },
      placeholderData: {},
    };
  }

  private async coreProvisioner(tp: TemplateProvisioner, rawName: string): Promise<CoreProvisioner> {
    const provisioner = await loadComponent('provisioner', tp.type, at(tp.pos, this.templatePath));
    const maxRetries = renderMaxRetries(tp.maxRetries, this.userVariables, {
      initTime: this.initTime,
      templatePath: this.templatePath || undefined,
    });
    return {
      type: tp.type,
      provisioner,
      pauseBeforeMs: tp.pauseBeforeMs,
      timeoutMs: tp.timeoutMs,
      maxRetries,
      raws: layers(tp, rawName),
    };
  }

  /** Packer's CoreBuild.Prepare: builder, provisioners, cleanup provisioner, post-processors. */
  private async prepareBuild(build: CoreBuild): Promise<string[]> {
    const builderRaw = this.template.builders.get(build.rawName)?.config ?? {};
    build.prepareResult = await build.builder.prepare([builderRaw], build.packerConfig);
    build.placeholderData = placeholderData(build.prepareResult.generatedDataKeys ?? []);
    const provs = build.cleanupProvisioner ? [...build.provisioners, build.cleanupProvisioner] : build.provisioners;
    const provWarnings: string[] = [];
    for (const p of provs) {
      const r = await p.provisioner.prepare(p.raws, build.packerConfig, build.placeholderData);
      if (r && r.warnings) provWarnings.push(...r.warnings);
    }
    for (const chain of build.postProcessors) {
      for (const pp of chain) await pp.postProcessor.configure(pp.raws, build.packerConfig, build.placeholderData);
    }
    return [...(build.prepareResult.warnings ?? []), ...provWarnings];
  }
}

function layers(tp: TemplateProvisioner, rawName: string): RawConfig[] {
  const out = [tp.config];
  const ov = tp.override?.[rawName];
  if (ov) out.push(ov);
  return out;
}

/** `at <file>:<line>:<column>` for kiln's own messages ('' when unknown). */
function at(pos: SourcePos | undefined, path: string): string {
  return pos ? `at ${path ? basename(path) : 'template'}:${pos.line}:${pos.column}` : '';
}

/** Packer's OnlyExcept.Skip against a raw builder name. */
export function skips(only: string[], except: string[], rawName: string): boolean {
  if (only.length) return !only.includes(rawName);
  if (except.length) return except.includes(rawName);
  return false;
}
