/**
 * The request body cannot be decoded as an OTLP trace export (bad JSON, wrong wire format,
 * structurally invalid). The receiver answers 400 with `message`, which exporters do not retry.
 */
export class OtlpDecodeError extends Error {
  override readonly name: string = 'OtlpDecodeError';
}

/**
 * The export holds more spans than one request may (413): decoded spans are what an export costs in
 * memory (a 15 MiB body of minimal spans once took the process past 1 GiB), not its bytes.
 */
export class TooManySpansError extends OtlpDecodeError {
  override readonly name = 'TooManySpansError';
  constructor(readonly limit: number) {
    super(`The export holds more than ${limit} spans; send smaller batches (OTel SDKs send 512 per export by default)`);
  }
}
