import type { Server, Socket } from 'node:net';

/**
 * Caps the connections one client address may hold open at once. Without it a handful of clients that
 * open connections and trickle bytes can hold every resource a request needs; with it, one address can
 * only ever take its share. A connection past the cap is let through the HTTP parser so that its request
 * gets a proper answer (429 with Retry-After, which OTLP exporters honour, and `Connection: close`).
 */
export class ClientConnections {
  private readonly open = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();

  constructor(private readonly maxPerClient: number) {}

  track(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '';
      const count = (this.open.get(address) ?? 0) + 1;
      this.open.set(address, count);
      if (count > this.maxPerClient) this.refused.add(socket);
      socket.once('close', () => {
        const left = (this.open.get(address) ?? 1) - 1;
        if (left <= 0) this.open.delete(address);
        else this.open.set(address, left);
      });
    });
  }

  /** True when this connection opened while its address already held its share. */
  isOverLimit(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  get limit() {
    return this.maxPerClient;
  }
}
