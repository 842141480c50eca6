import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCoreBuild } from './build-run.js';
import type { CoreBuild, CorePostProcessor } from './core.js';
import type { Artifact, PostProcessResult } from './types.js';
import { RecordingUi } from '../ui/testing/recording-ui.js';

class FakeArtifact implements Artifact {
  readonly builderId = 'fake';
  readonly files: string[] = [];
  destroyed = false;
  constructor(readonly id: string) {}
  toString(): string {
    return `artifact ${this.id}`;
  }
  state(): unknown {
    return undefined;
  }
  async destroy(): Promise<void> {
    this.destroyed = true;
  }
}

function pp(type: string, result: (a: Artifact) => PostProcessResult | Error, keepInputArtifact?: boolean, name = type): CorePostProcessor {
  return {
    type,
    name,
    keepInputArtifact,
    raws: [],
    postProcessor: {
      configure: async () => undefined,
      postProcess: async (_ui, a) => {
        const r = result(a);
        if (r instanceof Error) throw r;
        return r;
      },
    },
  };
}

function build(builderArtifact: Artifact | undefined, chains: CorePostProcessor[][]): CoreBuild {
  return {
    name: 'b',
    rawName: 'b',
    type: 'fake',
    builder: { prepare: async () => ({}), run: async () => builderArtifact },
    prepareResult: {},
    provisioners: [],
    postProcessors: chains,
    packerConfig: {} as CoreBuild['packerConfig'],
    placeholderData: {},
  };
}

const never = new AbortController().signal;

test('no post-processors: the builder artifact is the result', async () => {
  const a = new FakeArtifact('A');
  const out = await runCoreBuild(build(a, []), new RecordingUi(), never);
  assert.deepEqual(out.artifacts, [a]);
});

test('a post-processor that does not keep its input destroys the builder artifact', async () => {
  const a = new FakeArtifact('A');
  const c = new FakeArtifact('C');
  const ui = new RecordingUi();
  const out = await runCoreBuild(build(a, [[pp('compress', () => ({ artifact: c, keep: false, forceOverride: false }), undefined, 'zip')]]), ui, never);
  assert.deepEqual(out.artifacts, [c]);
  assert.equal(a.destroyed, true);
  assert.deepEqual(ui.lines(), ['say: ==> b: Running post-processor: zip (type compress)']);
});

test('keep_input_artifact=true keeps the input; false is ignored when the post-processor forces keep', async () => {
  const a = new FakeArtifact('A');
  const c = new FakeArtifact('C');
  let out = await runCoreBuild(build(a, [[pp('compress', () => ({ artifact: c, keep: false, forceOverride: false }), true)]]), new RecordingUi(), never);
  assert.deepEqual(out.artifacts, [a, c]);
  const m = new FakeArtifact('M');
  out = await runCoreBuild(build(a, [[pp('manifest', () => ({ artifact: m, keep: true, forceOverride: true }), false)]]), new RecordingUi(), never);
  assert.deepEqual(out.artifacts, [a, m]);
});

test('later post-processors keep or destroy the previous artifact of their chain', async () => {
  const a = new FakeArtifact('A');
  const x = new FakeArtifact('X');
  const y = new FakeArtifact('Y');
  const z = new FakeArtifact('Z');
  const out = await runCoreBuild(
    build(a, [
      [
        pp('one', () => ({ artifact: x, keep: true, forceOverride: false })),
        pp('two', () => ({ artifact: y, keep: false, forceOverride: false })),
        pp('three', () => ({ artifact: z, keep: true, forceOverride: false })),
      ],
    ]),
    new RecordingUi(),
    never,
  );
  assert.deepEqual(out.artifacts, [a, y, z]);
  assert.equal(x.destroyed, true);
});

test('a failing post-processor abandons its chain and fails the build with the SDK multi-error', async () => {
  const a = new FakeArtifact('A');
  const out = await runCoreBuild(
    build(a, [[pp('bad', () => new Error('disk full'))], [pp('good', () => ({ artifact: new FakeArtifact('G'), keep: true, forceOverride: true }))]]),
    new RecordingUi(),
    never,
  );
  assert.deepEqual(out.artifacts, []);
  assert.equal(out.error?.message, '1 error(s) occurred:\n\n* Post-processor failed: disk full');
});

test('a cancelled build skips post-processors and reports nothing', async () => {
  const ctl = new AbortController();
  ctl.abort();
  let ran = false;
  const out = await runCoreBuild(build(new FakeArtifact('A'), [[pp('x', () => ((ran = true), { artifact: undefined, keep: true, forceOverride: true }))]]), new RecordingUi(), ctl.signal);
  assert.equal(ran, false);
  assert.deepEqual(out.artifacts, []);
  assert.equal(out.error, undefined);
});
