// What the empty trace list tells a newcomer: the exporter endpoint of this Canopy and the simulator's command
// line for it. Pure, unit-tested.

/** Where exporters should send, from what this Canopy serves: its OTLP port, else the UI's own (it takes OTLP too). */
export function otlpEndpoint(location: { protocol: string; hostname: string; port: string }, otlpPort: number | null | undefined): string {
  // Browsers give an IPv6 host in brackets already; a bare one gets them.
  const host = location.hostname.includes(':') && !location.hostname.startsWith('[') ? `[${location.hostname}]` : location.hostname;
  const port = otlpPort ?? (location.port || (location.protocol === 'https:' ? '443' : '80'));
  return `${location.protocol}//${host}:${port}`;
}

/** The simulator's command line for this Canopy: flags only where it differs from the simulator's defaults. */
export function simulateCommand(endpoint: string, appOrigin: string): string {
  const flags: string[] = [];
  if (endpoint !== 'http://127.0.0.1:4318') flags.push(`--endpoint ${endpoint}`);
  // The simulator asks about kills at the endpoint's origin with 4318 replaced by 3000.
  const guessed = endpoint.replace(/:4318$/, ':3000');
  if (appOrigin !== guessed) flags.push(`--api ${appOrigin}`);
  return `npm run simulate -- ${[...flags, '--scenario normal,loop,fanout'].join(' ')}`;
}
