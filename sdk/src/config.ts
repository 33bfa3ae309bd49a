// Where Canopy is and the key to reach it, from the options given or the environment.

export const DEFAULT_CANOPY_URL = 'http://127.0.0.1:3000';

export interface CanopyEndpoint {
  url: string;
  apiKey: string | undefined;
  /** Where `url` came from, named in connection errors so a wrong guess is easy to spot. */
  source: 'option' | 'CANOPY_URL' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'default';
}

/**
 * Canopy's API lives on its app port: an OTLP endpoint on Canopy's OTLP ports (4318, 4317) means the API on 3000
 * of the same host; any other port is Canopy's app port itself (it serves OTLP/HTTP too).
 */
export function canopyUrlFromOtlp(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.port === '4318' || url.port === '4317') url.port = '3000';
  return url.origin;
}

type Env = Record<string, string | undefined>;

export function resolveEndpoint(options: { url?: string; apiKey?: string }, env: Env = processEnv()): CanopyEndpoint {
  const apiKey = options.apiKey ?? (env.CANOPY_API_KEY || undefined);
  if (options.url) return { url: trimSlash(options.url), apiKey, source: 'option' };
  if (env.CANOPY_URL) return { url: trimSlash(env.CANOPY_URL), apiKey, source: 'CANOPY_URL' };
  const otlp = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (otlp) {
    try {
      return { url: canopyUrlFromOtlp(otlp), apiKey, source: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
    } catch {
      // Not a URL: the exporter will complain about it; the default applies here.
    }
  }
  return { url: DEFAULT_CANOPY_URL, apiKey, source: 'default' };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function processEnv(): Env {
  return (globalThis as { process?: { env?: Env } }).process?.env ?? {};
}
