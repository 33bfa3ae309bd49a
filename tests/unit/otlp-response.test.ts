import { describe, expect, it } from 'vitest';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeExportResponse, encodeStatus } from '../../ingest/otlp/encode-response';

describe('export responses, as the OpenTelemetry exporter reads them', () => {
  it('full success is an empty response in both formats', () => {
    const pb = encodeExportResponse('protobuf');
    expect(pb.length).toBe(0);
    expect(ProtobufTraceSerializer.deserializeResponse(pb)).toEqual({});
    const json = encodeExportResponse('json');
    expect(json).toBe('{}');
    expect(encodeExportResponse('protobuf', { rejectedSpans: 0, errorMessage: '' }).length).toBe(0);
  });

  it('partial success tells the exporter how many spans were rejected and why', () => {
    const partial = { rejectedSpans: 3, errorMessage: 'traceId must be 16 bytes' };
    expect(ProtobufTraceSerializer.deserializeResponse(encodeExportResponse('protobuf', partial))).toEqual({ partialSuccess: partial });
    const json = encodeExportResponse('json', partial);
    expect(JsonTraceSerializer.deserializeResponse(new TextEncoder().encode(json))).toEqual({ partialSuccess: partial });
  });
});

describe('error bodies (google.rpc.Status)', () => {
  it('protobuf: code is field 1, message field 2', () => {
    const bytes = encodeStatus('protobuf', 3, 'bad');
    expect(Buffer.from(bytes).toString('hex')).toBe('0803' + '1203' + Buffer.from('bad').toString('hex'));
  });

  it('JSON: {"code","message"}', () => {
    expect(JSON.parse(encodeStatus('json', 3, 'resourceSpans must be an array'))).toEqual({ code: 3, message: 'resourceSpans must be an array' });
  });
});
