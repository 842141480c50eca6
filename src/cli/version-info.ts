/** kiln's own version (kept equal to package.json's "version"; a test checks it). */
export const KILN_VERSION = '0.1.0';
