// Spans reported when they start (by the SDK's span processor, sdk/), so a running tree is visible live and
// its branches can be killed before they end. Such a report is an ordinary OTLP span carrying this attribute,
// with its end time equal to its start time (or 0). Ingest keeps it apart from ended spans: the ended version,
// whenever it arrives, is the one counted; a trace with a started span not yet ended stays `running`.
export const STARTED_ATTRIBUTE = 'canopy.span.started';
