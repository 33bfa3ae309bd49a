// Server-Sent Events parsed as the WHATWG HTML standard defines them ("9.2.6 Interpreting an event stream"), so
// a proxy that re-chunks the stream, changes line endings or adds comments changes nothing: lines end in CRLF,
// LF or CR, possibly split across chunks; `data` lines join with "\n"; an event is dispatched at a blank line and
// only if it has data; the last `id` stays in force (sent back as Last-Event-ID); a trailing partial event is
// dropped when the stream ends.

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

export class SseParser {
  /** The id a reconnecting client sends as Last-Event-ID. */
  lastEventId = '';
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private started = false;
  /** The previous chunk ended in CR: an LF starting this one belongs to that line end. */
  private afterCR = false;
  private type = '';
  private data = '';
  private hasData = false;
  private pendingId: string | null = null;

  constructor(private readonly handlers: SseHandlers) {}

  feed(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1);
    this.afterCR = false;
    this.buffer += text;
    let from = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', from);
      const lf = this.buffer.indexOf('\n', from);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      this.line(this.buffer.slice(from, end));
      if (this.buffer[end] !== '\r') from = end + 1;
      else if (end + 1 === this.buffer.length) (this.afterCR = true), (from = end + 1);
      else from = this.buffer[end + 1] === '\n' ? end + 2 : end + 1;
    }
    this.buffer = this.buffer.slice(from);
  }

  /** The stream ended: an event without its blank line is never dispatched. */
  end(): void {
    this.buffer = '';
    this.afterCR = false;
    this.reset();
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.handlers.onComment?.(line.slice(1).trimStart());
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.data += this.hasData ? `\n${value}` : value;
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.pendingId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
      // Unknown fields are ignored, as the standard says.
    }
  }

  private dispatch(): void {
    // The id takes effect at the blank line, even for an event without data.
    if (this.pendingId !== null) this.lastEventId = this.pendingId;
    if (this.hasData) this.handlers.onEvent({ type: this.type || 'message', data: this.data, lastEventId: this.lastEventId });
    this.reset();
  }

  private reset(): void {
    this.type = '';
    this.data = '';
    this.hasData = false;
    this.pendingId = null;
  }
}
