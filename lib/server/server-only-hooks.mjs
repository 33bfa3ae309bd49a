// Module resolution hook (see server-only-process.ts): `server-only` resolves as Next resolves it for server
// code, to its empty module.
export async function resolve(specifier, context, next) {
  if (specifier === 'server-only') return next(specifier, { ...context, conditions: [...context.conditions, 'react-server'] });
  return next(specifier, context);
}
