import { register } from 'node:module';

// `server-only` keeps server modules out of the browser's bundles: Next resolves it to an empty module for
// server code (the react-server condition) and to a throwing one for client code. The custom server process
// (server.ts, the detector) is server code that Next does not bundle, so it resolves the marker as Next's
// server code does. Static imports are linked before this runs: modules that use server-only code are
// imported dynamically after it (`await import(...)`).
register('./server-only-hooks.mjs', import.meta.url);
