/**
 * A module resolution hook that adds the `@keyport/source` export condition, so that the
 * workspace packages resolve to their TypeScript sources instead of their built `dist/`.
 */
export function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, {
    ...context,
    conditions: ["@keyport/source", ...context.conditions],
  });
}
