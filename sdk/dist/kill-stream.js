// The one connection to Canopy's kill events (`GET /api/control/events`, Server-Sent Events) a process needs:
// reconnected with exponential backoff and jitter, resumed with Last-Event-ID, and dropped when it goes quiet for
// longer than Canopy's heartbeats allow (a half-open connection otherwise looks alive forever). It never keeps the
// process alive by itself: an agent that is done exits.
import http from 'node:http';
import https from 'node:https';
import { SseParser } from './sse.js';
import { untraced } from './untraced.js';
export class KillStream {
    opts;
    request = null;
    retryTimer;
    silenceTimer;
    failures = 0;
    baseDelayMs;
    open = false;
    stopped = true;
    lastEventId = '';
    constructor(opts) {
        this.opts = opts;
        this.baseDelayMs = opts.reconnectMinMs;
    }
    get connected() {
        return this.open;
    }
    start() {
        if (!this.stopped)
            return;
        this.stopped = false;
        // Everything the stream creates from here on (sockets, timers, retries) runs outside the caller's context.
        untraced(() => this.connect());
    }
    stop() {
        this.stopped = true;
        clearTimeout(this.retryTimer);
        clearTimeout(this.silenceTimer);
        this.open = false;
        this.request?.destroy();
        this.request = null;
    }
    connect() {
        const url = new URL(`${this.opts.url}/api/control/events`);
        const headers = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
        if (this.opts.apiKey)
            headers.authorization = `Bearer ${this.opts.apiKey}`;
        if (this.lastEventId)
            headers['last-event-id'] = this.lastEventId;
        const client = url.protocol === 'https:' ? https : http;
        let closed = false;
        const close = (error, retryAfterMs) => {
            if (closed)
                return;
            closed = true;
            clearTimeout(this.silenceTimer);
            const wasOpen = this.open;
            this.open = false;
            req.destroy();
            if (this.request === req)
                this.request = null;
            if (this.stopped)
                return;
            // A connection that opened resets the backoff: the next attempt waits the base delay again.
            if (wasOpen)
                this.failures = 0;
            const delay = retryAfterMs ?? this.backoff();
            this.failures++;
            this.retryTimer = setTimeout(() => this.connect(), delay);
            this.retryTimer.unref?.();
            this.opts.onClose(error, delay);
        };
        const req = client.get(url, { headers, agent: false });
        this.request = req;
        req.on('socket', (socket) => socket.unref());
        req.on('error', (err) => close(err));
        this.armSilence(() => close(new Error(`no answer from ${url.origin} within ${this.opts.silenceMs} ms`)));
        req.on('response', (res) => {
            const type = String(res.headers['content-type'] ?? '');
            if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
                let body = '';
                res.setEncoding('utf8');
                res.on('data', (d) => (body = (body + d).slice(0, 500)));
                res.on('end', () => close(new Error(refusal(res.statusCode ?? 0, body)), retryAfter(res.headers['retry-after'])));
                res.on('error', (err) => close(err));
                return;
            }
            const parser = new SseParser({
                onEvent: (e) => {
                    this.lastEventId = parser.lastEventId;
                    if (e.type !== 'kill' && e.type !== 'revive')
                        return;
                    const event = parseKillEvent(e.data);
                    if (event)
                        this.opts.onEvent(event);
                },
                onRetry: (ms) => (this.baseDelayMs = Math.max(100, ms)),
            });
            parser.lastEventId = this.lastEventId;
            this.open = true;
            this.opts.onOpen();
            res.on('data', (chunk) => {
                this.armSilence(() => close(new Error(`Canopy's event stream was silent for ${this.opts.silenceMs} ms`)));
                parser.feed(chunk);
            });
            res.on('end', () => close(new Error('Canopy closed the event stream')));
            res.on('error', (err) => close(err));
            res.on('close', () => close(new Error('the event stream was closed')));
        });
    }
    /** Exponential from the base delay, capped, with jitter: after an outage, processes do not all reconnect at once. */
    backoff() {
        const ceiling = Math.min(this.opts.reconnectMaxMs, this.baseDelayMs * 2 ** Math.min(this.failures, 20));
        return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    }
    armSilence(onSilence) {
        clearTimeout(this.silenceTimer);
        this.silenceTimer = setTimeout(onSilence, this.opts.silenceMs);
        this.silenceTimer.unref?.();
    }
}
function parseKillEvent(data) {
    try {
        const e = JSON.parse(data);
        if ((e.type !== 'kill' && e.type !== 'revive') || typeof e.kill?.traceId !== 'string')
            return null;
        const kill = { ...e.kill, traceId: e.kill.traceId.toLowerCase(), spanId: e.kill.spanId ? e.kill.spanId.toLowerCase() : null };
        return { type: e.type, kill };
    }
    catch {
        return null;
    }
}
function refusal(status, body) {
    let detail = body.trim();
    try {
        const error = JSON.parse(body).error;
        if (typeof error === 'string')
            detail = error;
    }
    catch {
        // not JSON: the text as it came
    }
    const hint = status === 401 ? ' (set CANOPY_API_KEY, or the apiKey option)' : '';
    return `Canopy refused the kill event stream: ${status}${detail ? ` ${detail}` : ''}${hint}`;
}
function retryAfter(header) {
    const seconds = Number(Array.isArray(header) ? header[0] : header);
    return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, 60_000) : undefined;
}
