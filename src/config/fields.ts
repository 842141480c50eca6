/**
 * Field tables: the one place a component declares its JSON options (snake_case key), their
 * TypeScript field (the table's property name, camelCase), type, default and doc. `decodeConfig`
 * (decode.ts) reads a table; `Decoded<typeof table>` is the decoded config's type. Tables compose
 * by object spread (`{ ...communicatorFields, ...myFields }`), like Go's `mapstructure:",squash"`.
 */

/** The value kinds a field can have (the Go types Packer's configs use). */
export type FieldKind =
  | 'string'
  | 'int'
  | 'float'
  | 'bool'
  | 'tristate'
  | 'duration'
  | 'strings'
  | 'ints'
  | 'stringMap'
  | 'object'
  | 'objects'
  | 'any';

/** One option of a component config. `V` is the decoded TypeScript type. */
export interface Field<V> {
  /** The JSON option name (matched case-insensitively, like mapstructure). */
  readonly key: string;
  readonly kind: FieldKind;
  /** One-line documentation of the option. */
  readonly doc: string;
  /**
   * Applied after every layer is decoded when the option is absent or decoded to its zero value
   * ('' / 0 / [] / {}) — Go's `if c.X == 0 { c.X = default }`. For `bool`, only when absent.
   */
  readonly default?: V;
  /** Nested table of `object` / `objects` fields. */
  readonly fields?: FieldTable;
  /**
   * The Go type named in mapstructure's "expected type" errors when it is not the kind's usual
   * one (`int` → e.g. `int64`). parity detail only.
   */
  readonly goType?: string;
  /**
   * The name used in decode error messages when Packer's Go field has no mapstructure tag (Go
   * then names it by the struct field, e.g. shell-local's `Inline`). Matching still uses `key`.
   */
  readonly errorName?: string;
  /** Phantom member carrying `V`; never set. */
  readonly __type?: V;
}

/** A component's field table: TypeScript field name → option. */
export type FieldTable = { readonly [field: string]: Field<any> };

/** The decoded config type of a field table. */
export type Decoded<T extends FieldTable> = {
  -readonly [K in keyof T]: T[K] extends Field<infer V> ? V : never;
};

/** Extra per-field settings accepted by the field constructors. */
export interface FieldExtras<V> {
  default?: V;
  goType?: string;
  errorName?: string;
}

function field<V>(kind: FieldKind, key: string, doc: string, extras?: FieldExtras<V>, fields?: FieldTable): Field<V> {
  return { key, kind, doc, ...extras, ...(fields ? { fields } : {}) };
}

/**
 * Field constructors. Each takes the JSON key, a one-line doc and optional extras ({ default,
 * goType, errorName }). Example: `sshPort: f.int('ssh_port', 'Port to connect to.', { default: 22 })`.
 */
export const f = {
  /** A string; numbers and bools are weakly converted (`5` → "5", `true` → "1"). */
  string: (key: string, doc: string, extras?: FieldExtras<string>): Field<string> => field('string', key, doc, extras),
  /** A Go int (decoded as a JS integer); `"22"` → 22, `""` → 0, `0x10` accepted (ParseInt base 0). */
  int: (key: string, doc: string, extras?: FieldExtras<number>): Field<number> => field('int', key, doc, extras),
  /** A Go float64. */
  float: (key: string, doc: string, extras?: FieldExtras<number>): Field<number> => field('float', key, doc, extras),
  /** A Go bool; `"true"`, `"1"`, `"false"`, `""` accepted. */
  bool: (key: string, doc: string, extras?: FieldExtras<boolean>): Field<boolean> => field('bool', key, doc, extras),
  /** Packer's config.Trilean: undefined when unset. */
  tristate: (key: string, doc: string, extras?: Omit<FieldExtras<boolean>, 'default'>): Field<boolean | undefined> =>
    field('tristate', key, doc, extras),
  /** A Go time.Duration, decoded to milliseconds; strings are Go durations, numbers nanoseconds. */
  duration: (key: string, doc: string, extras?: FieldExtras<number>): Field<number> => field('duration', key, doc, extras),
  /** A []string; a string is split on ",", a single value becomes a one-element list. */
  strings: (key: string, doc: string, extras?: FieldExtras<string[]>): Field<string[]> => field('strings', key, doc, extras),
  /** A []int (e.g. valid_exit_codes); same lifting rules as `strings`. */
  ints: (key: string, doc: string, extras?: FieldExtras<number[]>): Field<number[]> => field('ints', key, doc, extras),
  /** A map[string]string; layers merge key by key; a list of maps is merged into one. */
  stringMap: (key: string, doc: string, extras?: FieldExtras<Record<string, string>>): Field<Record<string, string>> =>
    field('stringMap', key, doc, extras),
  /** A nested struct decoded with its own table (absent → its zero value with defaults). */
  object: <T extends FieldTable>(key: string, fields: T, doc: string, extras?: Omit<FieldExtras<Decoded<T>>, 'default'>): Field<Decoded<T>> =>
    field('object', key, doc, extras, fields),
  /** A list of nested structs; layers merge element-wise and field by field. */
  objects: <T extends FieldTable>(key: string, fields: T, doc: string, extras?: FieldExtras<Decoded<T>[]>): Field<Decoded<T>[]> =>
    field('objects', key, doc, extras, fields),
  /** Any JSON value, kept as is (interpolated like every string leaf); later layers replace it. */
  any: (key: string, doc: string, extras?: FieldExtras<unknown>): Field<unknown> => field('any', key, doc, extras),
};

/** The Go type name used in "expected type" errors for a field. */
export function goTypeOf(fieldSpec: Field<unknown>): string {
  if (fieldSpec.goType) return fieldSpec.goType;
  switch (fieldSpec.kind) {
    case 'int':
    case 'ints':
      return 'int';
    case 'float':
      return 'float64';
    case 'bool':
      return 'bool';
    case 'tristate':
      return 'config.Trilean';
    case 'duration':
      return 'time.Duration';
    default:
      return 'string';
  }
}

/** One documented option of a table (nested options as `parent.child` / `parent[].child`). */
export interface FieldDoc {
  key: string;
  kind: FieldKind;
  default?: unknown;
  doc: string;
}

/** Lists a table's options in declaration order, nested tables flattened, for docs and `inspect`-like output. */
export function fieldDocs(table: FieldTable, prefix = ''): FieldDoc[] {
  const out: FieldDoc[] = [];
  for (const spec of Object.values(table)) {
    const key = prefix + spec.key;
    out.push({ key, kind: spec.kind, doc: spec.doc, ...(spec.default !== undefined ? { default: spec.default } : {}) });
    if (spec.fields) out.push(...fieldDocs(spec.fields, spec.kind === 'objects' ? `${key}[].` : `${key}.`));
  }
  return out;
}
