import { jsonError } from '@/lib/server/http';

export const dynamic = 'force-dynamic';

// An API path that does not exist answers JSON like every other API error, not the UI's HTML 404 page.
const notFound = (request: Request) => jsonError(404, `No API route ${new URL(request.url).pathname}`);
export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
