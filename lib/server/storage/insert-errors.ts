// Why an insert failed: the rows themselves (never storable, 400) or storage (retry later, 503).

/**
 * The engine refused a request's rows as invalid data even when they were inserted alone: sending them again
 * would fail the same way, so the receiver answers 400 (exporters do not retry it). The message carries the
 * engine's first line, which only ever quotes this request's own bytes.
 */
export class InvalidPayloadError extends Error {
  constructor(
    readonly engineCode: number,
    readonly engineMessage: string,
  ) {
    const reason = engineMessage.split('\n', 1)[0].slice(0, 300);
    super(`The storage engine refused these spans as invalid data and did not store them; sending them again would fail the same way (${reason})`);
    this.name = 'InvalidPayloadError';
  }
}

/**
 * ClickHouse error codes that mean "these bytes are not valid rows for the table" (parsing, types, enum
 * values, escapes), as opposed to storage being unable to write (connection, permissions, disk, memory, parts,
 * missing table), which stays a retryable 503. Measured with chDB on the spans table: garbage, a short row or
 * a token count of 1e300 → 27, a cut string → 26, a lone surrogate → 25, a bad enum → 691, a negative UInt
 * → 72, an unreadable time → 41, a time past 2262 → 407, a 33-char trace id → 131. Left out on purpose:
 * CANNOT_READ_ALL_DATA (33), also raised reading a damaged part from disk, and the generic
 * ARGUMENT_OUT_OF_BOUND (69): a wrong 503 is retried, a wrong 400 loses the spans.
 */
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  407, // DECIMAL_OVERFLOW (a DateTime64 past its range)
  467, // CANNOT_PARSE_BOOL
  563, // CANNOT_READ_MAP_FROM_TEXT
  632, // UNEXPECTED_DATA_AFTER_PARSED_VALUE
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

/** The ClickHouse error code of an insert failure: chDB's clickhouseCode, the HTTP client's code, or "Code: N." */
export function engineErrorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { clickhouseCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.clickhouseCode === 'number') return e.clickhouseCode;
  if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  const m = typeof e.message === 'string' ? /^Code: (\d+)\./.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

export function isDataError(err: unknown): boolean {
  const code = engineErrorCode(err);
  return code !== undefined && DATA_ERROR_CODES.has(code);
}
