import type { KillEvent } from './wire.js';
export interface KillStreamOptions {
    url: string;
    apiKey: string | undefined;
    /** First reconnection delay; Canopy's `retry:` field replaces it (default 1 s). */
    reconnectMinMs: number;
    reconnectMaxMs: number;
    /** Canopy sends a heartbeat every 15 s; silence this long means the connection is dead. */
    silenceMs: number;
    onEvent(event: KillEvent): void;
    /** The stream is open: events from here on arrive. */
    onOpen(): void;
    /** The stream closed or could not open; it is retried after `retryInMs`. */
    onClose(error: Error, retryInMs: number): void;
}
export declare class KillStream {
    private readonly opts;
    private request;
    private retryTimer;
    private silenceTimer;
    private failures;
    private baseDelayMs;
    private open;
    private stopped;
    private lastEventId;
    constructor(opts: KillStreamOptions);
    get connected(): boolean;
    start(): void;
    stop(): void;
    private connect;
    /** Exponential from the base delay, capped, with jitter: after an outage, processes do not all reconnect at once. */
    private backoff;
    private armSilence;
}
