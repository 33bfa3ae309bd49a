import type { NextConfig } from 'next';

const config: NextConfig = {
  // The engine is a native addon owned by the custom server (server.ts); route handlers reach it
  // through the runtime registry, so it must never be bundled.
  serverExternalPackages: ['chdb', '@clickhouse/client'],
  poweredByHeader: false,
  // server.ts compresses responses itself, at a faster level (see there).
  compress: false,
  reactStrictMode: true,
  // Types are checked by `npm test` (tsc --noEmit over the whole repo), not again inside every build.
  typescript: { ignoreBuildErrors: true },
};

export default config;
