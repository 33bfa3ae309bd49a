// OTLP v1 trace schema as a protobufjs JSON descriptor, so no codegen or .proto files ship.
// Field numbers checked against open-telemetry/opentelemetry-proto (commit ac2c4b5d, 2026-08-18):
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto,
// collector/trace/v1/trace_service.proto; google.rpc.Status from googleapis rpc/status.proto.
// The hand-written decoder (decode-protobuf.ts) takes its field numbers from here, so this file is
// the single place a number can be wrong; tests/unit/otlp-schema.test.ts pins every one.
import protobuf from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

const rep = (type: string, id: number) => ({ type, id, rule: 'repeated' as const });

const common: Record<string, { fields: Fields; oneofs?: Record<string, { oneof: string[] }> }> = {
  AnyValue: {
    oneofs: {
      value: {
        oneof: [
          'stringValue',
          'boolValue',
          'intValue',
          'doubleValue',
          'arrayValue',
          'kvlistValue',
          'bytesValue',
          'stringValueStrindex',
        ],
      },
    },
    fields: {
      stringValue: { type: 'string', id: 1 },
      boolValue: { type: 'bool', id: 2 },
      intValue: { type: 'int64', id: 3 },
      doubleValue: { type: 'double', id: 4 },
      arrayValue: { type: 'ArrayValue', id: 5 },
      kvlistValue: { type: 'KeyValueList', id: 6 },
      bytesValue: { type: 'bytes', id: 7 },
      // Profiles-only dictionary reference; receivers for traces treat it as absent.
      stringValueStrindex: { type: 'int32', id: 8 },
    },
  },
  ArrayValue: { fields: { values: rep('AnyValue', 1) } },
  KeyValueList: { fields: { values: rep('KeyValue', 1) } },
  KeyValue: {
    fields: {
      key: { type: 'string', id: 1 },
      value: { type: 'AnyValue', id: 2 },
      keyStrindex: { type: 'int32', id: 3 },
    },
  },
  InstrumentationScope: {
    fields: {
      name: { type: 'string', id: 1 },
      version: { type: 'string', id: 2 },
      attributes: rep('KeyValue', 3),
      droppedAttributesCount: { type: 'uint32', id: 4 },
    },
  },
  EntityRef: {
    fields: {
      schemaUrl: { type: 'string', id: 1 },
      type: { type: 'string', id: 2 },
      idKeys: rep('string', 3),
      descriptionKeys: rep('string', 4),
    },
  },
};

const C = 'opentelemetry.proto.common.v1.';

export const otlpDescriptor = {
  nested: {
    opentelemetry: {
      nested: {
        proto: {
          nested: {
            common: { nested: { v1: { nested: common } } },
            resource: {
              nested: {
                v1: {
                  nested: {
                    Resource: {
                      fields: {
                        attributes: rep(`${C}KeyValue`, 1),
                        droppedAttributesCount: { type: 'uint32', id: 2 },
                        entityRefs: rep(`${C}EntityRef`, 3),
                      },
                    },
                  },
                },
              },
            },
            trace: {
              nested: {
                v1: {
                  nested: {
                    TracesData: { fields: { resourceSpans: rep('ResourceSpans', 1) } },
                    ResourceSpans: {
                      fields: {
                        resource: { type: 'opentelemetry.proto.resource.v1.Resource', id: 1 },
                        scopeSpans: rep('ScopeSpans', 2),
                        schemaUrl: { type: 'string', id: 3 },
                      },
                      reserved: [[1000, 1000]],
                    },
                    ScopeSpans: {
                      fields: {
                        scope: { type: `${C}InstrumentationScope`, id: 1 },
                        spans: rep('Span', 2),
                        schemaUrl: { type: 'string', id: 3 },
                      },
                    },
                    Span: {
                      fields: {
                        traceId: { type: 'bytes', id: 1 },
                        spanId: { type: 'bytes', id: 2 },
                        traceState: { type: 'string', id: 3 },
                        parentSpanId: { type: 'bytes', id: 4 },
                        flags: { type: 'fixed32', id: 16 },
                        name: { type: 'string', id: 5 },
                        kind: { type: 'SpanKind', id: 6 },
                        startTimeUnixNano: { type: 'fixed64', id: 7 },
                        endTimeUnixNano: { type: 'fixed64', id: 8 },
                        attributes: rep(`${C}KeyValue`, 9),
                        droppedAttributesCount: { type: 'uint32', id: 10 },
                        events: rep('Event', 11),
                        droppedEventsCount: { type: 'uint32', id: 12 },
                        links: rep('Link', 13),
                        droppedLinksCount: { type: 'uint32', id: 14 },
                        status: { type: 'Status', id: 15 },
                      },
                      nested: {
                        SpanKind: {
                          values: {
                            SPAN_KIND_UNSPECIFIED: 0,
                            SPAN_KIND_INTERNAL: 1,
                            SPAN_KIND_SERVER: 2,
                            SPAN_KIND_CLIENT: 3,
                            SPAN_KIND_PRODUCER: 4,
                            SPAN_KIND_CONSUMER: 5,
                          },
                        },
                        Event: {
                          fields: {
                            timeUnixNano: { type: 'fixed64', id: 1 },
                            name: { type: 'string', id: 2 },
                            attributes: rep(`${C}KeyValue`, 3),
                            droppedAttributesCount: { type: 'uint32', id: 4 },
                          },
                        },
                        Link: {
                          fields: {
                            traceId: { type: 'bytes', id: 1 },
                            spanId: { type: 'bytes', id: 2 },
                            traceState: { type: 'string', id: 3 },
                            attributes: rep(`${C}KeyValue`, 4),
                            droppedAttributesCount: { type: 'uint32', id: 5 },
                            flags: { type: 'fixed32', id: 6 },
                          },
                        },
                      },
                    },
                    Status: {
                      fields: {
                        message: { type: 'string', id: 2 },
                        code: { type: 'StatusCode', id: 3 },
                      },
                      // Field 1 was the deprecated `deprecated_code`.
                      reserved: [[1, 1]],
                      nested: {
                        StatusCode: {
                          values: { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 },
                        },
                      },
                    },
                  },
                },
              },
            },
            collector: {
              nested: {
                trace: {
                  nested: {
                    v1: {
                      nested: {
                        ExportTraceServiceRequest: {
                          fields: { resourceSpans: rep('opentelemetry.proto.trace.v1.ResourceSpans', 1) },
                        },
                        ExportTraceServiceResponse: {
                          fields: { partialSuccess: { type: 'ExportTracePartialSuccess', id: 1 } },
                        },
                        ExportTracePartialSuccess: {
                          fields: {
                            rejectedSpans: { type: 'int64', id: 1 },
                            errorMessage: { type: 'string', id: 2 },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: rep('google.protobuf.Any', 3),
              },
            },
          },
        },
      },
    },
  },
} as const;

export const otlpRoot = protobuf.Root.fromJSON(otlpDescriptor as unknown as protobuf.INamespace);

export const ExportTraceServiceRequest = otlpRoot.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);
export const ExportTraceServiceResponse = otlpRoot.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse',
);
export const RpcStatus = otlpRoot.lookupType('google.rpc.Status');

/** Field number of `field` in message `type` (a full name), failing loudly at import if absent. */
export function fieldId(type: string, field: string): number {
  const f = otlpRoot.lookupType(type).fields[field];
  if (!f) throw new Error(`OTLP schema has no field ${type}.${field}`);
  return f.id;
}
