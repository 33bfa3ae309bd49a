export interface SseEvent {
    /** The `event` field; "message" when absent. */
    type: string;
    data: string;
    /** The last event id in force when this event was dispatched ("" for none). */
    lastEventId: string;
}
export interface SseHandlers {
    onEvent(event: SseEvent): void;
    /** A `retry` field: the reconnection delay the server asks for, in ms. */
    onRetry?(ms: number): void;
    onComment?(text: string): void;
}
export declare class SseParser {
    private readonly handlers;
    /** The id a reconnecting client sends as Last-Event-ID. */
    lastEventId: string;
    private readonly decoder;
    private buffer;
    private started;
    /** The previous chunk ended in CR: an LF starting this one belongs to that line end. */
    private afterCR;
    private type;
    private data;
    private hasData;
    private pendingId;
    constructor(handlers: SseHandlers);
    feed(chunk: Uint8Array | string): void;
    /** The stream ended: an event without its blank line is never dispatched. */
    end(): void;
    private line;
    private dispatch;
    private reset;
}
