// The trace detail's JSON, parsed as it arrives, a slice at a time. A 10,000-span detail is ~9 MiB and a
// 100,000-span one ~70 MiB: reading it as one string (res.text(): the whole body copied and decoded at once)
// and then one JSON.parse block the page for hundreds of milliseconds to seconds, freezing the rows already
// shown (the first answer, `?first=N`) while the rest arrives. The API writes each span of `spans` on its own
// line (lib/server/queries/trace-detail.ts):
//   {"trace":…,"spans":[
//   {span},
//   {span}
//   ]}
// so every complete line between the first and the last is a span: each piece of the body is decoded and its
// complete lines parsed as it comes, and the page gets the thread back (`pause`) every SLICE_MS. Any other
// layout (an older server, an error body) is parsed whole at the end.

import type { SpanView, TraceDetailResponse } from '@/lib/domain';

/**
 * Time spent reading before the page gets the thread back: well under a long task (50 ms), as receiving the
 * body's bytes costs the same thread about as much again.
 */
const SLICE_MS = 12;
/** Text is fed in pieces of at most this many characters (~70 spans), each parsed in a millisecond or two. */
const PIECE_CHARS = 64 * 1024;
const SPANS_OPEN = '"spans":[';

/** Yields to the browser: a macrotask, so rendering and input run in between. */
export const yieldToPage = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** The detail's text fed piece by piece (any split), its spans parsed line by line. */
export class DetailLines {
  private head: string | null = null;
  private pending = '';
  /** Not the line layout: the whole text, parsed at the end. */
  private whole: string[] | null = null;
  private readonly spans: SpanView[] = [];

  push(piece: string): void {
    if (this.whole) {
      this.whole.push(piece);
      return;
    }
    const text = this.pending + piece;
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.pending = text;
      return;
    }
    let from = 0;
    if (this.head === null) {
      const first = text.indexOf('\n');
      const head = text.slice(0, first);
      if (!head.endsWith(SPANS_OPEN)) {
        this.whole = [text];
        this.pending = '';
        return;
      }
      this.head = head;
      from = first + 1;
    }
    this.pending = text.slice(lastNewline + 1);
    // The complete lines: spans, each but the last of the body followed by a comma.
    let to = lastNewline;
    while (to > from && (text.charCodeAt(to - 1) === 0x2c || text.charCodeAt(to - 1) === 0x0a)) to--;
    if (to <= from) return;
    const part = JSON.parse(`[${text.slice(from, to)}]`) as SpanView[];
    for (const s of part) this.spans.push(s);
  }

  /** The detail, once every piece was pushed. */
  finish(): TraceDetailResponse {
    if (this.whole) return JSON.parse(this.whole.join('') + this.pending) as TraceDetailResponse;
    if (this.head === null) return JSON.parse(this.pending) as TraceDetailResponse;
    // The last line closes the array and the object: with the head, everything but the spans.
    const detail = JSON.parse(this.head + this.pending) as TraceDetailResponse;
    detail.spans = this.spans;
    return detail;
  }
}

/** A response's detail, read and parsed as the body arrives. */
export async function readDetail(res: Response, pause: () => Promise<void> = yieldToPage, now: () => number = () => performance.now()): Promise<TraceDetailResponse> {
  if (!res.body) return parseDetailText(await res.text(), pause, now);
  const lines = new DetailLines();
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  const clock = { started: now() };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // Chunks already received resolve without a macrotask in between: feed() gives the page its turn.
    await feed(lines, decoder.decode(value, { stream: true }), pause, now, clock);
  }
  lines.push(decoder.decode());
  return lines.finish();
}

/** The detail from its whole text, parsed a piece at a time. */
export async function parseDetailText(text: string, pause: () => Promise<void> = yieldToPage, now: () => number = () => performance.now()): Promise<TraceDetailResponse> {
  const lines = new DetailLines();
  await feed(lines, text, pause, now, { started: now() });
  return lines.finish();
}

/** Pushes `text` in pieces, pausing whenever SLICE_MS have passed since the last pause (`clock.started`). */
async function feed(lines: DetailLines, text: string, pause: () => Promise<void>, now: () => number, clock: { started: number }): Promise<void> {
  for (let at = 0; at < text.length; at += PIECE_CHARS) {
    lines.push(at === 0 && text.length <= PIECE_CHARS ? text : text.slice(at, at + PIECE_CHARS));
    if (now() - clock.started >= SLICE_MS) {
      await pause();
      clock.started = now();
    }
  }
}
