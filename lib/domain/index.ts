// The domain: the types and contracts (span, trace, tree) that the server, the UI, the simulator and the SDK
// share. Browser-safe: nothing here touches storage or Node.
export * from './span';
export * from './trace';
export * from './tree';
export * from './alert';
export * from './kill';
export * from './policy';
export * from './budget';
export * from './started';
export * from './trace-increment';
