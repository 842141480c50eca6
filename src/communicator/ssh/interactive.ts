/**
 * `ssh_bastion_interactive`: answering the bastion's keyboard-interactive questions from the user,
 * one typed line per question (Packer's sdk-internals/communicator/ssh KeyboardInteractive).
 *
 * Where answers come from: stdin when it is a terminal (as Packer); stdin also when it is a pipe or a
 * file (kiln: lets a script or CI feed the answers; Packer would open /dev/tty); otherwise the
 * controlling terminal `/dev/tty`. On a terminal the questions are shown on stderr (Packer reads
 * without showing them) and, on stdin, answers to echo-off questions are read in raw mode so they
 * do not appear; in every case the questions go to the debug log as Packer logs them.
 */
import { fstatSync } from 'node:fs';
import { openTty, StreamLineReader, type LineReader } from '../../ui/tty.js';
import { debugLog } from '../../util/log.js';

/** A source of answers and, on a terminal, where to show the questions. */
export interface InteractiveIo {
  reader: LineReader;
  /** Shows a question (terminals only). */
  show?: (text: string) => void;
  /** Shows the question, then reads the answer without echo (terminals only; echo-off questions). */
  readHidden?: (question: string) => Promise<string>;
}

const readers = new WeakMap<object, LineReader>();

/** One line reader per stream, so lines typed ahead are not lost between connections. */
function sharedReader(stream: NodeJS.ReadableStream): LineReader {
  let r = readers.get(stream);
  if (!r) {
    r = new StreamLineReader(stream);
    readers.set(stream, r);
  }
  return r;
}

/**
 * Picks where the answers come from (see the file comment). `input` replaces stdin (tests).
 * Throws like Go's os.Open when /dev/tty is needed and missing.
 */
export function openInteractiveIo(input?: NodeJS.ReadableStream & { isTTY?: boolean }): InteractiveIo {
  if (input) return { reader: sharedReader(input), ...(input.isTTY ? { show: toStderr } : {}) };
  if (process.stdin.isTTY) {
    const stdin = process.stdin;
    return { reader: sharedReader(stdin), show: toStderr, readHidden: (q) => readHidden(stdin, q) };
  }
  if (stdinIsData()) return { reader: sharedReader(process.stdin) };
  devTty ??= openTty(undefined, true); // kept open: every connection attempt asks again
  if (!devTty) throw new Error('open /dev/tty: no such device or address'); // parity:
  return { reader: devTty, show: toStderr };
}

let devTty: LineReader | undefined;

function toStderr(text: string): void {
  process.stderr.write(text);
}

/** stdin is a pipe, socket or regular file (something a script feeds), not /dev/null or a closed fd. */
function stdinIsData(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

/**
 * One line from a terminal in raw mode, so the answer is not echoed (Backspace and Ctrl-U edit;
 * Ctrl-C interrupts kiln as it would in cooked mode; Ctrl-D on an empty line is end of input).
 */
function readHidden(tty: NodeJS.ReadStream, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const wasRaw = tty.isRaw;
    tty.setRawMode(true); // before the question: an answer typed at once must not be echoed
    process.stderr.write(question);
    const done = (err?: Error) => {
      tty.off('data', onData);
      tty.setRawMode(wasRaw);
      tty.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (d: Buffer | string) => {
      for (const ch of d.toString()) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') {
          done(new Error('interrupted'));
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ch === '\u0004') {
          if (answer === '') return done(new Error('EOF'));
        } else if (ch === '\u007f' || ch === '\b') answer = [...answer].slice(0, -1).join('');
        else if (ch === '\u0015') answer = '';
        else answer += ch;
      }
    };
    tty.on('data', onData);
    tty.resume();
  });
}

type Prompt = { prompt: string; echo?: boolean };

/**
 * A keyboard-interactive handler for ssh2: one line per question; no questions → no answers.
 * A failed read (end of input) goes to `onError`, which ends the handshake.
 */
export function interactivePrompter(
  io: InteractiveIo,
  onError: (err: Error) => void,
): (
  name: string,
  instructions: string,
  lang: string,
  prompts: Prompt[],
  finish: (a: string[]) => void,
) => void {
  return (name, instructions, _lang, prompts, finish) => {
    if (prompts.length === 0) {
      finish([]);
      return;
    }
    debugLog(`[INFO] -- User: ${name}`);
    debugLog(`[INFO] -- Instructions: ${instructions}`);
    prompts.forEach((p, i) => debugLog(`[INFO] -- Question ${i + 1}: ${p.prompt}`));
    void (async () => {
      const answers: string[] = [];
      if (io.show && instructions !== '') io.show(`${instructions}\n`);
      for (const p of prompts) {
        if (p.echo === false && io.readHidden) {
          answers.push(await io.readHidden(p.prompt));
          continue;
        }
        io.show?.(p.prompt);
        answers.push(await io.reader.readLine());
      }
      return answers;
    })().then(finish, (err: Error) => onError(err));
  };
}
