/** The step runner's public API, for builders (null, file, amazon-ebs …). */
export { need, toError, type RunState, type Step, type StepContext, type StepResult } from './step.js';
export { runSteps, runBasic, type RunStepsOptions, type StepList } from './runner.js';
export { withOnError, STEP_PROVISION_NAME } from './on-error.js';
export { withDebugPauses, debugPause, type PauseLocation } from './debug.js';
export { stepProvision, provisionHookData, type ConnectionInfo, type ProvisionState } from './step-provision.js';
export { StepTimings, type StepTiming } from './timings.js';
