// Canopy's wire format for kills, as its server sends it. Copied from the server's lib/domain/kill.ts (and the
// started-span attribute from lib/domain/started.ts) so this package installs alone; tests/sdk.test.ts stops
// type-checking if the two copies drift apart.
/** Marks a span reported when it starts; its ended version, exported later, is the one Canopy counts. */
export const STARTED_ATTRIBUTE = 'canopy.span.started';
/** The most span ids one control request may carry in `ancestors`. */
export const MAX_ANCESTORS = 256;
