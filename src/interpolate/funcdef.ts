/** How template functions are described to the executor (Go's reflect-based signatures, made explicit). */
import type { GoValue } from './value.js';

/**
 * Parameter types: Go `string`, `int`, `bool`, `float64`, `interface{}` ('any': a missing value
 * becomes nil) and `reflect.Value` ('value': a missing value stays missing, as Go's builtins see it).
 */
export type ArgType = 'string' | 'int' | 'bool' | 'float64' | 'any' | 'value';

export interface FuncDef {
  params: ArgType[];
  /** Element type of a trailing variadic parameter. */
  variadic?: ArgType;
  /** Returns the result; throws FuncError (Go's non-nil error result) to fail the call. */
  fn: (args: GoValue[]) => GoValue;
}

/** A function's error result: becomes `error calling <name>: <message>`. */
export class FuncError extends Error {}
