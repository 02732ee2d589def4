import { buildStepHandler, defaultRecoveryDeps } from '../../shared/runtime/recovery-handler.ts';

/** On "Instance Restored": health-check the restored instance and match its config digest. */
export const handler = buildStepHandler('verifyInstance', () => defaultRecoveryDeps());
