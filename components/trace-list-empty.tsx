'use client';

import { useEffect, useState } from 'react';
import { useHealth } from '@/lib/client/use-health';
import { otlpEndpoint, simulateCommand } from './trace/onboarding';

/** The empty list: how to send traces here (the real port) and how to try Canopy with the simulator. */
export function Onboarding() {
  const health = useHealth();
  // The page's own address is only known in the browser: rendered after mount, the server render says nothing wrong.
  const [where, setWhere] = useState<{ protocol: string; hostname: string; port: string; origin: string } | null>(null);
  useEffect(() => setWhere({ protocol: location.protocol, hostname: location.hostname, port: location.port, origin: location.origin }), []);
  const endpoint = where ? otlpEndpoint(where, health.data?.otlpPort) : '…';
  const grpc = health.data?.otlpGrpcPort;
  return (
    <div className="panel onboarding" data-testid="empty-state">
      <h2>No traces yet</h2>
      <p>
        Canopy receives OpenTelemetry traces over OTLP. Point your agent&apos;s OpenTelemetry SDK at it and its request trees show up here
        live, while they run.
      </p>
      <ol>
        <li>
          <p>Set the exporter endpoint in the environment your agent runs in:</p>
          <pre className="code" data-testid="otlp-endpoint">export OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}</pre>
          <p className="muted">
            OTLP/HTTP (protobuf or JSON) on <code>/v1/traces</code>
            {grpc && where ? (
              <>
                ; exporters that default to gRPC (Python, Go, the collector) use <code>{`${where.protocol}//${where.hostname}:${grpc}`}</code>
              </>
            ) : null}
            . GenAI semantic conventions (<code>gen_ai.*</code> attributes, OpenLLMetry, OpenInference, the Vercel AI SDK) give models, tools,
            agents, tokens and cost.
          </p>
        </li>
        <li>
          <p>Run your agent. Trees appear within a couple of seconds, while they are still running.</p>
        </li>
        <li>
          <p>No agent at hand? From this repository, send a few healthy trees and a few runaways (a loop, a fan-out):</p>
          <pre className="code" data-testid="simulate-command">{where ? simulateCommand(endpoint, where.origin) : 'npm run simulate -- --scenario normal,loop,fanout'}</pre>
          <p className="muted">
            <code>npm run demo</code> starts a Canopy with a gentle live workload instead.
          </p>
        </li>
      </ol>
    </div>
  );
}
