import type { WebSocket } from 'ws';
import { maskPayload } from '../protocol/websocket-frame.js';

/** Where {@link readClientFrames} sends each binary message it reads itself. */
export interface BinaryMessageSink {
  /** A whole binary message: a view into the bytes the socket delivered, unmasked in place. */
  binaryMessage(data: Buffer): void;
}

/** What this module uses of `ws`'s Receiver (a Writable that `ws` feeds every chunk the socket reads). */
export interface FrameReceiver {
  write(chunk: Buffer): boolean;
  emit(event: 'ping' | 'pong', data: Buffer): boolean;
}

/**
 * Reads a client's frames on the relay's side of one connection, in place of `ws`'s Receiver for
 * the frames that carry nearly all of the relay's traffic. False (and `ws` reads everything) if
 * this `ws` has no Receiver where this module expects one.
 *
 * Why: `ws`'s Receiver is a Writable stream that takes each chunk through several calls and
 * unmasks byte by byte; with 3 KB blocks that was about an eighth of the relay's busy time in the
 * load bench, two thirds of it unmasking. Here a chunk holding whole frames costs one loop over
 * their headers, each payload is unmasked 32 bits at a time and handed over as a view of the chunk.
 *
 * Why it is safe: it reads only frames it fully understands — final, masked binary frames within
 * `maxPayload`, and final, masked pings and pongs of at most 125 bytes — and at the first frame
 * that is anything else (a close, text, a fragment, reserved bits, no mask, too long) it gives
 * the stream back to `ws`'s Receiver for good, from that frame's first byte. `ws` then does what
 * it always does: the close handshake, and each protocol error with its close code.
 * test/websocket-reader.test.ts feeds this reader and a Receiver of its own the same random
 * streams, cut at random points, and compares everything they emit.
 */
export function readClientFrames(ws: WebSocket, sink: BinaryMessageSink, maxPayload: number): boolean {
  const receiver = (ws as unknown as { _receiver?: FrameReceiver })._receiver;
  if (!receiver || typeof receiver.write !== 'function') return false;
  takeOverReceiver(receiver, sink, maxPayload);
  return true;
}

/** Where a receiver that {@link takeOverReceiver} took over finds its reader. */
const READER = Symbol('client-frame-reader');
type TakenReceiver = FrameReceiver & { [READER]: ClientFrameReader };

/** Installs the reader on `receiver`: every `write` from then on goes through it. */
export function takeOverReceiver(receiver: FrameReceiver, sink: BinaryMessageSink, maxPayload: number): void {
  (receiver as TakenReceiver)[READER] = new ClientFrameReader(receiver, receiver.write, sink, maxPayload);
  // One function for every receiver (`this` is the receiver): none of its own per connection.
  receiver.write = readerWrite;
}

function readerWrite(this: TakenReceiver, chunk: Buffer): boolean {
  return this[READER].push(chunk);
}

/** Chunks of one unfinished frame kept apart before they are joined: bounds what a trickle of tiny chunks costs. */
const MAX_HELD_CHUNKS = 256;
/** The longest header of a client frame: 2 bytes, 8 of extended length, 4 of masking key. */
const MAX_HEADER_BYTES = 14;

class ClientFrameReader {
  /** The bytes of an unfinished frame (from its first byte), until `need` of them have come. */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private need = 0;

  constructor(
    private readonly receiver: FrameReceiver,
    /** The Receiver's own `write`, which gets the stream back. */
    private readonly receiverWrite: (chunk: Buffer) => boolean,
    private readonly sink: BinaryMessageSink,
    private readonly maxPayload: number,
  ) {}

  push(chunk: Buffer): boolean {
    if (this.held) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.need) {
        if (this.held.length >= MAX_HELD_CHUNKS) this.held = [Buffer.concat(this.held, this.heldBytes)];
        return true;
      }
      chunk = Buffer.concat(this.held, this.heldBytes);
      this.held = undefined;
    }
    return this.read(chunk);
  }

  /** Reads the whole frames at the start of `bytes`, keeps an unfinished one, or hands over. */
  private read(bytes: Buffer): boolean {
    let at = 0;
    while (at < bytes.length) {
      const available = bytes.length - at;
      if (available < 2) return this.hold(bytes, at, 2);
      const first = bytes[at]!;
      const second = bytes[at + 1]!;
      const opcode = first & 0x0f;
      // FIN set, no reserved bits, masked: anything else is ws's to handle (or refuse).
      if ((first & 0xf0) !== 0x80 || (second & 0x80) === 0) return this.handOver(bytes, at);
      let length = second & 0x7f;
      let header = 6;
      if (opcode === 0x2) {
        if (length === 126) {
          if (available < 8) return this.hold(bytes, at, 8);
          length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
          header = 8;
        } else if (length === 127) {
          if (available < MAX_HEADER_BYTES) return this.hold(bytes, at, MAX_HEADER_BYTES);
          // Over 2^32 − 1 bytes is over any maxPayload: ws refuses it.
          if (bytes.readUInt32BE(at + 2) !== 0) return this.handOver(bytes, at);
          length = bytes.readUInt32BE(at + 6);
          header = MAX_HEADER_BYTES;
        }
        if (length > this.maxPayload) return this.handOver(bytes, at);
      } else if ((opcode !== 0x9 && opcode !== 0xa) || length > 125) {
        return this.handOver(bytes, at);
      }
      const start = at + header;
      const end = start + length;
      if (end > bytes.length) return this.hold(bytes, at, header + length);
      maskPayload(bytes, start, end, bytes, start - 4);
      const payload = bytes.subarray(start, end);
      at = end;
      if (opcode === 0x2) this.sink.binaryMessage(payload);
      else this.receiver.emit(opcode === 0x9 ? 'ping' : 'pong', payload);
    }
    return true;
  }

  /** Keeps `bytes` from `at` (a frame's first byte) until the frame's `need` bytes have come. */
  private hold(bytes: Buffer, at: number, need: number): boolean {
    this.held = [at === 0 ? bytes : bytes.subarray(at)];
    this.heldBytes = bytes.length - at;
    this.need = need;
    return true;
  }

  /** Gives the stream to ws's Receiver from `at` on, for good. */
  private handOver(bytes: Buffer, at: number): boolean {
    this.receiver.write = this.receiverWrite;
    return this.receiverWrite.call(this.receiver, at === 0 ? bytes : bytes.subarray(at));
  }
}
