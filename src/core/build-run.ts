/**
 * Running one prepared build (Packer's CoreBuild.Run, packer/build.go): the builder with the
 * provisioner hook, then every post-processor chain with keep_input_artifact semantics (spec §8.8).
 */
import type { Ui } from '../ui/ui.js';
import type { Artifact } from './types.js';
import type { CoreBuild } from './core.js';
import { targetUi } from '../ui/compose.js';
import { createProvisionHook } from './provision-hook.js';
import { StepTimings } from './runner/timings.js';
import { stopwatch } from '../util/durafmt.js';
import { debugLog } from '../util/log.js';
import { sdkMultiError } from '../util/errors.js';

/** The outcome of one build. */
export interface BuildOutcome {
  /** Artifacts to report (empty when the build errored or produced nothing). */
  artifacts: Artifact[];
  /** The build's error, as `Build '<name>' errored after …: <message>` prints it. */
  error?: Error;
  /** Step and post-processor durations, for kiln's step table. */
  timings: StepTimings;
}

/**
 * Runs a prepared build. `ui` is the build's (coloured/timestamped) UI; the builder sees it
 * targeted at the build name, post-processors at `<name> (<type>)`. Errors of the builder and of
 * post-processors are returned in the outcome, not thrown.
 */
export async function runCoreBuild(build: CoreBuild, ui: Ui, signal: AbortSignal): Promise<BuildOutcome> {
  const timings = new StepTimings();
  const builderUi = targetUi(ui, build.name);
  const hook = createProvisionHook(build.provisioners, build.cleanupProvisioner, build.packerConfig.debug);
  debugLog(`Running builder: ${build.type}`);
  let builderArtifact: Artifact | undefined;
  try {
    builderArtifact = await build.builder.run({ ui: builderUi, signal, hook, stepTimings: timings });
  } catch (e) {
    return { artifacts: [], error: e instanceof Error ? e : new Error(String(e)), timings };
  }
  if (!builderArtifact) return { artifacts: [], timings };
  if (signal.aborted) {
    debugLog('Build was cancelled. Skipping post-processors.');
    return { artifacts: [], timings };
  }
  const { artifacts, errors } = await runPostProcessors(build, ui, builderUi, builderArtifact, signal, timings);
  if (errors.length) return { artifacts: [], error: new Error(sdkMultiError(errors)), timings };
  return { artifacts, timings };
}

async function runPostProcessors(
  build: CoreBuild,
  ui: Ui,
  builderUi: Ui,
  builderArtifact: Artifact,
  signal: AbortSignal,
  timings: StepTimings,
): Promise<{ artifacts: Artifact[]; errors: string[] }> {
  const artifacts: Artifact[] = [];
  const errors: string[] = [];
  let keepOriginal = build.postProcessors.length === 0;
  for (const chain of build.postProcessors) {
    let prior: Artifact | undefined = builderArtifact;
    for (const [i, pp] of chain.entries()) {
      const ppUi = targetUi(ui, `${build.name} (${pp.type})`);
      builderUi.say(
        pp.name === pp.type ? `Running post-processor: ${pp.type}` : `Running post-processor: ${pp.name} (type ${pp.type})`, // parity
      );
      const elapsed = stopwatch();
      let result;
      try {
        result = await pp.postProcessor.postProcess(ppUi, prior as Artifact, signal);
      } catch (e) {
        errors.push(`Post-processor failed: ${(e as Error).message}`); // parity
        prior = undefined;
        break;
      } finally {
        timings.add(`post-processor ${pp.name}`, elapsed());
      }
      if (!result.artifact) {
        debugLog('Nil artifact, halting post-processor chain.');
        prior = undefined;
        break;
      }
      let keep = result.keep;
      if (pp.keepInputArtifact !== undefined) {
        if (result.keep && !pp.keepInputArtifact && result.forceOverride) {
          debugLog(`The ${pp.type} post-processor forces keep_input_artifact=true; the user's false is ignored.`);
        } else {
          keep = pp.keepInputArtifact;
        }
      }
      if (i === 0) {
        if (keep) keepOriginal = true;
      } else if (keep) {
        artifacts.push(prior as Artifact);
      } else {
        try {
          await (prior as Artifact).destroy();
        } catch (e) {
          errors.push(`Failed cleaning up prior artifact: ${(e as Error).message}; pp is ${pp.type}`); // parity
        }
      }
      prior = result.artifact;
    }
    if (prior) artifacts.push(prior);
  }
  if (keepOriginal) {
    artifacts.unshift(builderArtifact);
  } else {
    try {
      await builderArtifact.destroy();
    } catch (e) {
      const files = `[]string{${builderArtifact.files.map((f) => JSON.stringify(f)).join(', ')}}`;
      errors.push(`Error destroying builder artifact: ${(e as Error).message}; bad artifact: ${files}`); // parity
    }
  }
  return { artifacts, errors };
}
