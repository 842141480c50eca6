/**
 * Running the `file` provisioner (spec §8.4). Upload: each source rendered, a directory goes up
 * recursively (a trailing `/` on the source sends its contents only), a file goes to the
 * destination or, when that ends in `/`, into it; the local mode and size go with it. Download: the
 * local parent directory is created; a source ending in `/` or holding a glob is a directory.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Communicator, GeneratedData, PackerConfig } from '../../core/types.js';
import type { Ui } from '../../ui/ui.js';
import { interpolationContext } from '../../config/decode.js';
import { renderFixedPoint } from '../../interpolate/index.js';
import { goStatError, type FileConfig } from './config.js';

export interface FileRunContext {
  ui: Ui;
  comm: Communicator;
  data: GeneratedData;
}

export async function runFile(cfg: FileConfig, pc: PackerConfig, ctx: FileRunContext): Promise<void> {
  if (cfg.direction === 'download') return download(cfg, ctx);
  return upload(cfg, pc, ctx);
}

async function upload(cfg: FileConfig, pc: PackerConfig, { ui, comm, data }: FileRunContext): Promise<void> {
  const ictx = { ...interpolationContext(pc, data), data: { ...data } };
  for (const source of cfg.sources) {
    let src: string;
    let dst: string;
    try {
      src = renderFixedPoint(source, ictx);
    } catch (e) {
      throw new Error(`Error interpolating source: ${(e as Error).message}`); // parity:
    }
    try {
      dst = renderFixedPoint(cfg.destination, ictx);
    } catch (e) {
      throw new Error(`Error interpolating destination: ${(e as Error).message}`); // parity:
    }
    ui.say(`Uploading ${src} => ${dst}`); // parity:
    let st;
    try {
      st = await fsp.stat(src);
    } catch (e) {
      throw new Error(goStatError(src, e));
    }
    try {
      if (st.isDirectory()) {
        await comm.uploadDir(dst, src, []);
        continue;
      }
      if (dst.endsWith('/')) dst += basename(src);
      await comm.upload(dst, createReadStream(src, { highWaterMark: 1 << 20 }), {
        mode: st.mode,
        size: st.size,
        mtime: st.mtime,
      });
    } catch (e) {
      const msg = (e as Error).message;
      const hint = msg.includes('Error restoring file')
        ? '; this can occur when your file destination is a folder without a trailing slash.' // parity:
        : '';
      ui.error(`Upload failed: ${msg}${hint}`); // parity:
      throw e;
    }
  }
}

async function download(cfg: FileConfig, { ui, comm }: FileRunContext): Promise<void> {
  let dst = cfg.destination; // parity quirk: a rewritten dst carries over to the next source
  for (const src of cfg.sources) {
    ui.say(`Downloading ${src} => ${dst}`); // parity:
    let dir = dst;
    if (!dst.endsWith('/')) dir = dirname(dst);
    else if (!src.endsWith('/') && !src.endsWith('*')) dst = join(dst, basename(src));
    if (dir !== '') await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
    try {
      if (src.endsWith('/') || /[*?[]/.test(src)) {
        await comm.downloadDir(src, dst, []);
        return; // parity quirk: Packer returns after the first directory download
      }
      const out = createWriteStream(dst, { mode: 0o644 });
      try {
        await comm.download(src, out);
      } finally {
        await new Promise<void>((resolve) => out.end(resolve));
      }
    } catch (e) {
      ui.error(`Download failed: ${(e as Error).message}`); // parity:
      throw e;
    }
  }
}
