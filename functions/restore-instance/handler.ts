import { buildStepHandler, defaultRecoveryDeps } from '../../shared/runtime/recovery-handler.ts';

/** On "Recovery Planned": restore the snapshot into the target region and activate it there. */
export const handler = buildStepHandler('restoreInstance', () => defaultRecoveryDeps());
