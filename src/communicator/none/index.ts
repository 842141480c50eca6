/**
 * The `communicator: none` stand-in (Packer SDK `sdk-internals/communicator/none`): commands
 * "succeed" at once with status 0; every file transfer fails with Packer's message (spec §7.1).
 */
import type { Communicator, RemoteCommand } from '../../core/types.js';

export class NoneCommunicator implements Communicator {
  async start(_cmd: RemoteCommand): Promise<number> {
    return 0;
  }
  async upload(): Promise<void> {
    throw new Error("Upload is not implemented when communicator = 'none'"); // parity:
  }
  async uploadDir(): Promise<void> {
    throw new Error("UploadDir is not implemented when communicator = 'none'"); // parity:
  }
  async download(): Promise<void> {
    throw new Error("Download is not implemented when communicator = 'none'"); // parity:
  }
  async downloadDir(): Promise<void> {
    throw new Error("DownloadDir is not implemented when communicator = 'none'"); // parity:
  }
  async close(): Promise<void> {}
}
