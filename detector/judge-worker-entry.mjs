// A worker thread does not inherit the TypeScript loader that `node --import tsx` registered on the main
// thread (Node 20), so it registers it itself before loading the worker.
import { register } from 'tsx/esm/api';

register();
await import('./judge-worker.ts');
