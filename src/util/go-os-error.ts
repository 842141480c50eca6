/**
 * Go's os.PathError texts for Node fs errors (`open /x: no such file or directory`), so messages
 * Packer builds from them read the same in kiln.
 */

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'file exists',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
};

/** Go's syscall error text for a Node error (its errno text, else Node's message). */
export function goErrnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  return e instanceof Error ? e.message : String(e);
}

/** `<op> <path>: <errno text>`, e.g. `open /x/m.json: no such file or directory`. */
export function goPathError(op: string, path: string, e: unknown): string {
  return `${op} ${path}: ${goErrnoText(e)}`;
}
