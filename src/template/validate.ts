/**
 * Packer's Template.Validate (packer-plugin-sdk/template/template.go): builders present, and
 * provisioner/post-processor only/except/override naming existing raw builder names.
 */
import type { Template } from './types.js';

/** Every semantic problem of the template, in Packer's order and texts (empty = valid). */
export function templateProblems(t: Template): string[] {
  const errs: string[] = [];
  // parity: template.go Validate
  if (t.builders.size === 0) errs.push('at least one builder must be defined');
  t.provisioners.forEach((p, i) => {
    const prefix = `provisioner ${i + 1}`;
    errs.push(...onlyExceptProblems(t, prefix, p.only, p.except));
    for (const name of Object.keys(p.override ?? {})) {
      if (!t.builders.has(name)) errs.push(`${prefix}: override '${name}' doesn't exist`);
    }
  });
  t.postProcessors.forEach((chain, i) => {
    chain.forEach((pp, j) => {
      errs.push(...onlyExceptProblems(t, `post-processor ${i + 1}.${j + 1}`, pp.only, pp.except));
    });
  });
  return errs;
}

function onlyExceptProblems(t: Template, prefix: string, only: string[], except: string[]): string[] {
  // parity: template.go OnlyExcept.Validate
  if (only.length > 0 && except.length > 0) return [`${prefix}: only one of 'only' or 'except' may be specified`];
  const errs: string[] = [];
  for (const n of only) if (!t.builders.has(n)) errs.push(`${prefix}: 'only' specified builder '${n}' not found`);
  for (const n of except) if (!t.builders.has(n)) errs.push(`${prefix}: 'except' specified builder '${n}' not found`);
  return errs;
}
