// OTLP/gRPC on CANOPY_OTLP_GRPC_PORT (4317, what the Python and Go SDKs' and the collector's OTLP exporters
// default to). The request's bytes pass through untouched (no inflating, no protobuf decode here) into the same
// path as OTLP/HTTP: the ingest workers inflate and decode them once, the same queue and group commit store
// them, and the call is answered OK only once its spans are stored.
import {
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  ServerListenerBuilder,
  ResponderBuilder,
  status as Code,
  type Metadata,
  type ServerInterceptor,
  type ServerInterceptingCallInterface,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { isAuthorised } from '../../lib/server/auth';
import { StartError, type Log } from '../../lib/server/services';
import type { CanopyConfig } from '../../lib/server/config';
import type { Metrics } from '../../lib/server/metrics';
import type { Ingest } from '../service';
import type { WireBody } from '../body';
import { encodeExportResponse } from '../otlp/encode-response';
import { codeOf, refusal } from './status';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** How long a stop waits for calls under way to be answered before cutting the rest off. */
const DRAIN_MS = 5_000;
/** A call cancelled this close to its deadline was cancelled by it (the client's clock runs slightly ahead). */
const DEADLINE_SLACK_MS = 250;

export interface GrpcIngest {
  port: number;
  /** Refuses new calls (UNAVAILABLE), lets those under way finish (up to a few seconds), then closes. */
  stop(): Promise<void>;
}

const passThrough = (bytes: Buffer) => bytes;

/**
 * What grpc-js does with a compressed message before the deserializer sees it (BaseServerInterceptingCall,
 * grpc-js ≥ 1.10): inflates it on the event loop with a zlib stream, 16 KiB chunks, a callback each, then
 * Buffer.concat — per 1,000-span export ~5 ms of the main thread's time, measured, which OTLP/HTTP spends on an
 * ingest worker in one synchronous call. `passCompressed` replaces it on each call so that gzip and deflate
 * messages reach the handler still compressed; the ingest workers inflate them exactly as they inflate HTTP
 * bodies, with the same CANOPY_MAX_BODY_BYTES bound. Should a grpc-js release drop the method, grpc-js
 * inflates as before (slower, still correct).
 */
interface InflatingCall {
  decompressMessage?: (framed: Buffer, encoding: string) => Buffer | WireBody | Promise<Buffer>;
}

function passCompressed(call: ServerInterceptingCallInterface): void {
  const inner = call as unknown as InflatingCall;
  const inflate = inner.decompressMessage;
  if (typeof inflate !== 'function') return;
  inner.decompressMessage = (framed, encoding) =>
    // `encoding` is the call's grpc-encoding for a message whose compressed flag is set, else identity.
    encoding === 'gzip' || encoding === 'deflate' ? { bytes: framed.subarray(5), encoding } : inflate.call(inner, framed, encoding);
}

/** TraceService/Export with the request left as wire bytes: the ingest workers' one-pass decoder reads them. */
const traceService: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    // A compressed message arrives as passCompressed left it; any other as its bytes.
    requestDeserialize: (message: Buffer | WireBody): WireBody => (Buffer.isBuffer(message) ? { bytes: message, encoding: 'identity' } : message),
    responseSerialize: (response: Uint8Array) => Buffer.from(response.buffer, response.byteOffset, response.byteLength),
    responseDeserialize: passThrough,
  },
};

export async function startGrpcServer(deps: { config: CanopyConfig; ingest: Ingest; metrics: Metrics; log: Log }): Promise<GrpcIngest> {
  const { config, ingest, metrics, log } = deps;
  let stopping = false;
  const count = (code: Code) => metrics.grpcRequests.inc({ code: Code[code] });

  /**
   * Runs on a call's metadata, before its message is read: a call without the key, or arriving while Canopy
   * stops, is refused without Canopy holding its bytes. It also bounds how long the message may take to
   * arrive (CANOPY_BODY_TIMEOUT_MS, as for HTTP bodies), and counts every call's status by code.
   */
  const gate: ServerInterceptor = (_method, call: ServerInterceptingCallInterface) => {
    passCompressed(call); // the first interceptor: `call` is grpc-js's own
    let answered = false;
    let arrival: NodeJS.Timeout | undefined;
    const end = (status: ReturnType<typeof refusal>) => {
      clearTimeout(arrival);
      if (!answered) count(status.code);
      answered = true;
      call.sendStatus(status);
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata: Metadata, next) => {
        if (stopping) return end(refusal(Code.UNAVAILABLE, 'Canopy is shutting down; retry later', 5));
        const authorization = metadata.get('authorization')[0];
        if (!isAuthorised(typeof authorization === 'string' ? authorization : undefined, config.apiKeys)) {
          return end(refusal(Code.UNAUTHENTICATED, 'Missing or invalid API key: send the metadata "authorization: Bearer <key>"'));
        }
        arrival = setTimeout(() => end(refusal(Code.DEADLINE_EXCEEDED, `The export did not arrive within ${config.bodyTimeoutMs} ms`)), config.bodyTimeoutMs);
        arrival.unref();
        next(metadata);
      })
      .withOnReceiveHalfClose((next) => {
        clearTimeout(arrival);
        next();
      })
      .withOnCancel(() => {
        clearTimeout(arrival);
        // Ended without an answer from Canopy: the client's deadline passed or it went away, or grpc-js
        // refused the message itself (over the size limit, or not valid gzip: counted as CANCELLED too). A
        // client whose deadline fires cancels the call a little before the server's copy of that deadline.
        if (!answered) count(Number(call.getDeadline()) <= Date.now() + DEADLINE_SLACK_MS ? Code.DEADLINE_EXCEEDED : Code.CANCELLED);
        answered = true;
      })
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((status, next) => {
        if (!answered && status.code !== undefined) count(status.code);
        answered = true;
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };

  async function exportTraces(call: ServerUnaryCall<WireBody, Uint8Array>, respond: sendUnaryData<Uint8Array>) {
    // A call whose deadline passes (or whose client goes away) is answered by grpc-js; its spans are then
    // not queued, since the exporter sends them again. (grpc-js also says 'cancelled' after every answered
    // call: the listener goes once the answer is given, so that an abort — a DOMException — is not paid per call.)
    const abandoned = new AbortController();
    const abandon = () => abandoned.abort();
    call.once('cancelled', abandon);
    try {
      const outcome = await ingest.accept(call.request, 'grpc', abandoned.signal);
      if (outcome.ok) return respond(null, encodeExportResponse('protobuf', outcome.partial));
      // Over the size limit once inflated: said as grpc-js says it of a message over the limit on the wire.
      const message = outcome.inflatedTooLarge ? `Received message that decompresses to more than ${config.maxBodyBytes} bytes (CANOPY_MAX_BODY_BYTES)` : outcome.message;
      respond(refusal(codeOf(outcome), message, outcome.retryAfterSeconds));
    } catch (err) {
      log({ event: 'request_failed', path: EXPORT_PATH, error: err instanceof Error ? err.stack : String(err) });
      respond({ code: Code.INTERNAL, details: 'Internal error' });
    } finally {
      call.off('cancelled', abandon);
    }
  }

  const server = new Server({
    interceptors: [gate],
    // The same size limit as an OTLP/HTTP body: on the wire here (grpc-js), after inflating on the ingest worker.
    'grpc.max_receive_message_length': config.maxBodyBytes,
    // An exporter multiplexes its exports on one connection: the per-connection stream limit plays the part
    // the per-address connection limit plays for HTTP.
    'grpc.max_concurrent_streams': config.maxConnectionsPerClient,
  });
  server.addService(traceService, { Export: exportTraces });

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${config.otlpGrpcPort}`, ServerCredentials.createInsecure(), (err, bound) => {
      if (!err) return resolve(bound);
      server.forceShutdown();
      reject(
        new StartError(
          /EADDRINUSE/.test(err.message)
            ? `Port ${config.otlpGrpcPort} on ${config.host} is already in use (OTLP/gRPC): set CANOPY_OTLP_GRPC_PORT`
            : `Could not listen for OTLP/gRPC on ${host}:${config.otlpGrpcPort}: ${err.message}`,
        ),
      );
    });
  });

  return {
    port,
    async stop() {
      stopping = true;
      const drained = new Promise<boolean>((resolve) => server.tryShutdown(() => resolve(true)));
      const late = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), DRAIN_MS).unref());
      if (!(await Promise.race([drained, late]))) {
        log({ event: 'grpc_drain_timeout', afterMs: DRAIN_MS });
        server.forceShutdown();
      }
    },
  };
}
