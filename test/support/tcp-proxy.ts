import net from 'node:net';

/** One proxied connection: the application's socket and the one to the real server. */
interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

/**
 * A TCP forwarder in front of a real PostgreSQL or Redis, so a test can make the
 * dependency vanish (stop: refuse new connections and cut existing ones) and come
 * back on the same address, without touching the shared server.
 *
 * It can also freeze the dependency the way a paused process or a black-holed network does:
 * `freeze()` keeps every socket open and accepts new connections, but forwards no byte in either
 * direction and passes on no close, until `thaw()` delivers what was held back and carries on.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy({ host: u.hostname, port: Number(u.port) });
  }

  /** The same URL with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Connections currently held open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      const pair: Pair = { client, upstream };
      this.pairs.add(pair);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        // A close is passed on at once, or when thawed: a frozen peer notices nothing.
        s.on('close', () => {
          this.sockets.delete(s);
          if (!this.frozen) this.unpair(pair);
        });
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
      if (this.frozen) {
        client.pause();
        upstream.pause();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stops forwarding: sockets stay open (and new ones are accepted) but no byte and no close goes through. */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  /** Forwards again, beginning with what was held back; a side that closed meanwhile closes the other. */
  thaw(): void {
    this.frozen = false;
    for (const pair of [...this.pairs]) {
      if (pair.client.destroyed || pair.upstream.destroyed) this.unpair(pair);
      else {
        pair.client.resume();
        pair.upstream.resume();
      }
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.frozen = false;
    for (const s of this.sockets) s.destroy();
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Reads only while not frozen; a paused socket leaves the bytes in the kernel, as a stalled peer would. */
  private forward(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!this.frozen) from.resume();
    });
    from.on('end', () => {
      if (!this.frozen) to.end();
    });
  }

  private unpair(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
