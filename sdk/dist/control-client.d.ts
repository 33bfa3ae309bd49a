import { type ControlAnswer } from './wire.js';
export declare class ControlClient {
    private readonly baseUrl;
    private readonly apiKey;
    private readonly timeoutMs;
    constructor(baseUrl: string, apiKey: string | undefined, timeoutMs: number);
    ask(traceId: string, spanId: string | null, ancestors?: readonly string[]): Promise<ControlAnswer>;
}
