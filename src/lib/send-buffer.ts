/** Where a send buffer writes: a WebSocket, or a stand-in in tests. */
export interface SendSink {
  /** Bytes handed to the sink that have not reached the network yet (`ws`'s `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** Writes one message; `done` runs once it has left for the network (or failed). */
  send(message: string | Buffer, done: (err?: Error) => void): void;
}

export interface SendBufferLimits {
  /** Messages kept waiting at most; past it the oldest waiting message is dropped. */
  maxQueued: number;
  /** The sink is written to only while it holds fewer bytes than this. */
  maxBufferedBytes: number;
}

/** Writes not yet confirmed by the sink, at most: a sink that never confirms cannot be handed the whole queue. */
const MAX_IN_FLIGHT = 64;

/**
 * A per-connection outgoing queue with a fixed size. A peer that reads slowly makes the socket's
 * own buffer grow: past `maxBufferedBytes` nothing more is written to it, messages wait here, and
 * past `maxQueued` the oldest waiting one is dropped. So a slow reader costs the server at most
 * `maxQueued` messages plus `maxBufferedBytes`, whatever the rate of pushes, and gets the newest
 * messages once it catches up.
 */
export class SendBuffer {
  private readonly queue: (string | Buffer)[] = [];
  private head = 0;
  private inFlight = 0;
  private closed = false;
  /** Messages dropped since the buffer was made. */
  dropped = 0;

  constructor(
    private readonly sink: SendSink,
    private readonly limits: SendBufferLimits,
  ) {}

  /** Messages waiting to be written. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** A Buffer is sent as it is: text encoded once for many sockets is not encoded again for each. */
  push(message: string | Buffer): void {
    if (this.closed) return;
    if (this.queued >= this.limits.maxQueued) {
      this.head++;
      this.dropped++;
      this.compact();
    }
    this.queue.push(message);
    this.pump();
  }

  /** Drops what is waiting; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
  }

  private pump(): void {
    // A message in flight is also counted by the sink once written; waiting for one before writing
    // the next keeps bufferedAmount honest for sinks that report it only after the write.
    while (!this.closed && this.queued > 0 && this.sink.bufferedAmount < this.limits.maxBufferedBytes && this.inFlight < MAX_IN_FLIGHT) {
      const message = this.queue[this.head++]!;
      this.compact();
      this.inFlight++;
      this.sink.send(message, () => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** Keeps the array from growing by its consumed prefix. */
  private compact(): void {
    if (this.head > 1_024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
