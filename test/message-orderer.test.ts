import { describe, expect, it } from 'vitest';
import { MessageOrderer } from '../src/signaling/message-orderer.js';

const m = (seq: number) => ({ seq });

describe('MessageOrderer', () => {
  it('releases messages in sequence order, holding back those after a gap', () => {
    const orderer = new MessageOrderer<{ seq: number }>(1, (x) => x.seq);
    expect(orderer.push(m(3))).toEqual([]);
    expect(orderer.push(m(2))).toEqual([]);
    expect(orderer.push(m(1))).toEqual([m(1), m(2), m(3)]);
    expect(orderer.push(m(4))).toEqual([m(4)]);
  });

  it('drops duplicates, whether already released or still held', () => {
    const orderer = new MessageOrderer<{ seq: number }>(1, (x) => x.seq);
    orderer.push(m(1));
    expect(orderer.push(m(1))).toEqual([]);
    orderer.push(m(3));
    expect(orderer.push(m(3))).toEqual([]);
    expect(orderer.push(m(2))).toEqual([m(2), m(3)]);
  });

  it('refuses to hold more than its capacity', () => {
    const orderer = new MessageOrderer<{ seq: number }>(1, (x) => x.seq, 4);
    for (let seq = 2; seq < 6; seq++) orderer.push(m(seq));
    expect(() => orderer.push(m(6))).toThrowSealcallError();
    expect(orderer.push(m(1))).toEqual([1, 2, 3, 4, 5].map(m));
  });
});
