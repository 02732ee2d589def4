import { buildStepHandler, defaultRecoveryDeps } from '../../shared/runtime/recovery-handler.ts';

/** On "Instance Verified": move the Route 53 weights to the recovered region. */
export const handler = buildStepHandler('shiftTraffic', () => defaultRecoveryDeps());
