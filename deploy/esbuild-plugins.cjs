// esbuild plugins for serverless-esbuild (serverless.yml custom.esbuild.plugins).
const { dirname, join } = require('node:path');

/**
 * zod 4 exports its error-message translations as the namespace `z.locales`; any
 * `import { z } from 'zod'` keeps that namespace object, so esbuild cannot drop a single locale:
 * 261 KiB of every bundle (docs/benchmarks.md, "Bundle size"). lifeboat's messages are English,
 * and zod registers English itself, so the namespace is replaced by one holding `en` only.
 * Calling `z.config(z.locales.fr())` would fail loudly (not a function), never silently.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.c?js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), '..', 'locales'), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: args.path,
      loader: 'js',
    }));
  },
};

module.exports = [zodEnglishOnly];
