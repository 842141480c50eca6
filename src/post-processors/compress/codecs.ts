/**
 * The compress post-processor's compression streams, one per algorithm Packer's compress has:
 * pgzip (node:zlib gzip), bgzf (./bgzf.ts), lz4 (the `lz4` package's frame encoder) and xz
 * (`lzma-native`, liblzma). The two packages are native addons, loaded only when a build compresses
 * with them.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Transform } from 'node:stream';
import { constants as zc, createGzip } from 'node:zlib';
import { BgzfWriter } from './bgzf.js';

export type Algorithm = 'pgzip' | 'lz4' | 'bgzf' | 'xz';

interface Lz4Module {
  createEncoderStream(options: {
    highCompression?: boolean;
    blockMaxSize?: number;
    streamChecksum?: boolean;
    blockChecksum?: boolean;
  }): Transform;
}

interface LzmaModule {
  CHECK_CRC64: number;
  createCompressor(options: { preset?: number; check?: number; threads?: number }): Transform;
}

const requireHere = createRequire(import.meta.url);

/** Loads one of the native compression packages, explaining a missing or unbuilt one. */
function load(pkg: string): unknown {
  try {
    return requireHere(pkg);
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new Error(`Cannot load the ${pkg} package (reinstall kiln's dependencies with npm ci): ${why}`);
  }
}

/** Packer's level check for its gzip writers (Go's compress/flate accepts −2…9). */
export const INVALID_LEVEL = 'Invalid compression level. Expected an integer from -1 to 9.'; // parity

/** The "Using … compression" line Packer prints before compressing to `target`. */
export function usingLine(algorithm: Algorithm, target: string): string {
  if (algorithm === 'xz')
    return `Using xz compression with 1 core for ${target} (library does not support MT)`; // parity
  return `Using ${algorithm} compression with ${availableParallelism()} cores for ${target}`; // parity
}

/**
 * A stream compressing what is written to it. `level` is compression_level after Packer's
 * normalisation (−1/0 → 6, > 9 → 9). Throws `error creating <algo> writer: …` as Packer does.
 */
export function openCompressor(algorithm: Algorithm, level: number): Transform {
  try {
    switch (algorithm) {
      case 'pgzip':
      case 'bgzf': {
        if (level < -2 || level > 9) throw new Error(INVALID_LEVEL);
        // −2 is Go's HuffmanOnly level; zlib spells it as a strategy.
        const zlevel = level === -2 ? 6 : level;
        if (algorithm === 'bgzf')
          return new BgzfWriter(
            zlevel,
            availableParallelism(),
            level === -2 ? zc.Z_HUFFMAN_ONLY : zc.Z_DEFAULT_STRATEGY,
          );
        return createGzip({
          level: zlevel,
          strategy: level === -2 ? zc.Z_HUFFMAN_ONLY : zc.Z_DEFAULT_STRATEGY,
        });
      }
      case 'lz4': {
        // Packer's lz4 writer: frame format, 4 MiB independent blocks, content checksum, no block
        // checksums; high compression whenever compression_level > 0 (the package's HC level is fixed).
        const lz4 = load('lz4') as Lz4Module;
        return lz4.createEncoderStream({
          highCompression: level > 0,
          blockMaxSize: 4 << 20,
          streamChecksum: true,
          blockChecksum: false,
        });
      }
      case 'xz': {
        // Packer's xz writer ignores compression_level: LZMA2 with an 8 MiB dictionary (preset 6),
        // CRC64 check, one thread.
        const lzma = load('lzma-native') as LzmaModule;
        return lzma.createCompressor({ preset: 6, check: lzma.CHECK_CRC64 });
      }
    }
  } catch (e) {
    throw new Error(`error creating ${algorithm} writer: ${(e as Error).message}`); // parity
  }
}
