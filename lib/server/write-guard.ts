import { isLoopback, type CanopyConfig } from './config';

// Without API keys Canopy listens on loopback only, and anything on this machine may call it, including a web
// page the user happens to have open: a browser sends a cross-site "simple" request (a form post, a fetch with
// content-type text/plain) without asking first. So a write must name its body application/json, which no page
// can send to another origin without a CORS preflight Canopy never grants, and a write whose Origin is not
// Canopy's own is refused. DELETE is exempt from the content type (it has no body, and a page can never send it
// cross-site without that preflight) but not from the Origin check. With keys, the key is the proof: a page
// cannot know it.

export interface WriteRefusal {
  status: 403 | 415;
  message: string;
}

export function refuseForeignWrite(request: Request, config: Pick<CanopyConfig, 'apiKeys' | 'publicUrl'>): WriteRefusal | null {
  if (config.apiKeys.length > 0) return null;
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null;
  const origin = request.headers.get('origin');
  if (origin !== null && !isOwnOrigin(origin, request.headers.get('host'), config.publicUrl)) {
    return { status: 403, message: `Refused a write from the web origin ${origin.slice(0, 200)}: without CANOPY_API_KEYS, only Canopy's own pages and non-browser clients may write` };
  }
  if (method !== 'DELETE' && !isJson(request.headers.get('content-type'))) {
    return { status: 415, message: 'Send writes with "content-type: application/json" (a JSON body, or none)' };
  }
  return null;
}

/**
 * Canopy's own pages: the origin the request was addressed to, when that is a loopback address (a page of
 * another site that re-pointed its name at 127.0.0.1, DNS rebinding, carries its own name), or CANOPY_PUBLIC_URL.
 */
function isOwnOrigin(origin: string, host: string | null, publicUrl: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(origin); // "null" (sandboxed frames, file: pages) does not parse: refused
  } catch {
    return false;
  }
  if (publicUrl) {
    try {
      if (new URL(publicUrl).origin === url.origin) return true;
    } catch {
      // not a URL: configuration validated it; nothing to match
    }
  }
  return url.host === host && isLoopback(url.hostname);
}

function isJson(contentType: string | null): boolean {
  return (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
}
