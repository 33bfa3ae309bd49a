/**
 * The request body cannot be decoded as an OTLP trace export (bad JSON, wrong wire format,
 * structurally invalid). The receiver answers 400 with `message`, which exporters do not retry.
 */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}
