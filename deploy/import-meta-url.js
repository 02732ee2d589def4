// Injected into every bundle by esbuild (custom.esbuild.inject in serverless.yml). The bundles
// are CommonJS, which has no import.meta; code such as shared/config/load.ts derives paths from
// import.meta.url, so `define` points it here: the URL of the bundle file itself.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
