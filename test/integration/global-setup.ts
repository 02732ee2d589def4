import type { TestProject } from 'vitest/node';
import { startMoto } from '../../local/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

/** One real moto_server for the whole integration run; each test file works in its own buckets. */
export default async function setup(project: TestProject) {
  const moto = await startMoto();
  project.provide('motoEndpoint', moto.endpoint);
  return async () => {
    await moto.stop();
  };
}
