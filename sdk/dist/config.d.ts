export declare const DEFAULT_CANOPY_URL = "http://127.0.0.1:3000";
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
export declare function canopyUrlFromOtlp(endpoint: string): string;
type Env = Record<string, string | undefined>;
export declare function resolveEndpoint(options: {
    url?: string;
    apiKey?: string;
}, env?: Env): CanopyEndpoint;
export {};
