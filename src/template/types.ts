/**
 * The parsed form of a Packer 1.6.6 legacy JSON template (packer-plugin-sdk/template/template.go).
 * Raw component configs are kept untouched; source positions are kept for kiln's own messages.
 */
import type { RawConfig } from '../core/types.js';

/** A 1-based line/column position in the template file. */
export interface SourcePos {
  line: number;
  column: number;
}

/** One declared user variable. `required` = declared with a `null` default. */
export interface TemplateVariable {
  key: string;
  default: string;
  required: boolean;
}

/** One builder definition; `name` is the raw (uninterpolated) name, defaulting to `type`. */
export interface TemplateBuilder {
  name: string;
  type: string;
  /** Everything but the exact keys `name` and `type`. */
  config: RawConfig;
  pos?: SourcePos;
}

/** One provisioner (or the error-cleanup provisioner) with its weak-decoded meta fields. */
export interface TemplateProvisioner {
  type: string;
  only: string[];
  except: string[];
  /** Raw builder name → override config layer. */
  override?: Record<string, RawConfig>;
  /** Go duration in milliseconds (0 = unset). */
  pauseBeforeMs: number;
  /** Go duration in milliseconds (0 = unset). */
  timeoutMs: number;
  /** Uninterpolated `max_retries` text ('' = unset). */
  maxRetries: string;
  /** Everything but the meta keys. */
  config: RawConfig;
  pos?: SourcePos;
}

/** One post-processor of a chain. */
export interface TemplatePostProcessor {
  type: string;
  name: string;
  only: string[];
  except: string[];
  /** Tri-state: undefined when absent. */
  keepInputArtifact?: boolean;
  config: RawConfig;
  pos?: SourcePos;
}

/** A parsed template. Maps keep document order of insertion where Packer used maps. */
export interface Template {
  /** Absolute path of the template file (undefined for an internal template). */
  path?: string;
  description: string;
  minVersion: string;
  comments: Record<string, string>;
  variables: Map<string, TemplateVariable>;
  sensitiveVariables: string[];
  /** Raw name → builder, in document order. */
  builders: Map<string, TemplateBuilder>;
  provisioners: TemplateProvisioner[];
  cleanupProvisioner?: TemplateProvisioner;
  postProcessors: TemplatePostProcessor[][];
  /** The file's bytes as text. */
  rawContents: string;
}
