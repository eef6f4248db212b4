// An XMPP account as sealcall's signaling channel, with xmpp.js (`npm install @xmpp/client`): each
// signaling message is a `<message type="chat">` whose `<body>` is sealcall's text (`sealcall:` +
// base64url). Peers are bare JIDs (`bob@example.org`). Media never touches the XMPP server.
//
//   import wrtc from '@roamhq/wrtc'; // Node only
//   import { CallClient, fromTextTransport, ready } from 'sealcall';
//   import { connectXmppTransport } from './xmpp-transport.mjs';
//
//   await ready();
//   const chat = await connectXmppTransport({
//     service: 'xmpp://localhost:5222', domain: 'localhost',
//     username: 'alice', password: 'secret', resource: 'laptop', // one resource per device
//   });
//   chat.onStatus((status) => console.log(`xmpp: ${status}`)); // online | reconnecting | closed
//   const client = await CallClient.create({
//     identity, // alice's generateIdentity(), the same on every device of hers
//     transport: fromTextTransport(chat),
//     contacts: { 'bob@localhost': bobPublicKey }, // XMPP does not know sealcall's keys
//     wrtc,
//   });
//   const call = await client.call('bob@localhost', { audio: true });
//   …
//   await client.close();
//   await chat.close();
//
// Running it against a local prosody, and its limits: README.md next to this file.
import { client, xml } from '@xmpp/client';

const CARBONS = 'urn:xmpp:carbons:2';
const SM = 'urn:xmpp:sm:3';
const STREAMS = 'http://etherx.jabber.org/streams';
const HINTS = 'urn:xmpp:hints';

/** Room for the stanza around the text: `<message to=…><body>…`, and the `<delay>` of a resend. */
const STANZA_OVERHEAD = 1024;
/** Room for the `<delay>` xmpp.js adds when it resends a message after resuming a stream. */
const RESEND_OVERHEAD = 256;
/** Messages kept for the first `onMessage` handler. */
const MAX_EARLY = 100;

/**
 * @typedef {'connecting' | 'online' | 'reconnecting' | 'closed'} XmppStatus
 *
 * @typedef {object} XmppTransportOptions
 * @property {string} service `xmpp://host:port` (STARTTLS when offered), `xmpps://host:port` or `wss://host/path`
 * @property {string} domain the account's domain (`example.org` in `alice@example.org`)
 * @property {string} username the account's local part (`alice`)
 * @property {string} password
 * @property {string} [resource] this device's resource; give every device of an account its own. Default: the server picks one.
 * @property {number} [stanzaSizeLimit] the server's limit on a stanza from a client, in bytes (prosody's
 *   `c2s_stanza_size_limit`, ejabberd's `max_stanza_size`). Longer stanzas are refused here instead of
 *   making the server close the stream.
 * @property {number} [maxTextLength] the longest text one message may carry. Default: `stanzaSizeLimit - 1024`
 *   when that is given, otherwise no limit.
 * @property {number} [reconnectDelayMs] how long to wait before reconnecting after a drop. Default 1000.
 *
 * @typedef {object} XmppTransport A sealcall `TextChatTransport` (pass it to `fromTextTransport`).
 * @property {(to: string, text: string) => Promise<void>} send Sends `text` to a bare JID. Rejects at once,
 *   with `code` `'TRANSPORT_CLOSED'`, while not online; with `'MESSAGE_TOO_LARGE'` over the limits.
 * @property {(handler: (from: string, text: string) => void) => () => void} onMessage Chat messages with a
 *   body from other accounts, `from` as a bare JID; returns the unsubscribe function. The first handler
 *   also gets what arrived before it (up to 100 messages).
 * @property {number | undefined} maxTextLength
 * @property {XmppStatus} status
 * @property {(handler: (status: XmppStatus, error?: Error) => void) => () => void} onStatus Every status
 *   change, with the error that caused a drop when there was one; returns the unsubscribe function.
 * @property {() => Promise<void>} close Disconnects for good.
 * @property {object} xmpp The xmpp.js client underneath (for its events, or to send other stanzas).
 */

/**
 * Connects to the XMPP server and resolves once online (rejects if the first attempt fails). After
 * that it reconnects by itself whenever the connection drops, until `close()`.
 * @param {XmppTransportOptions} options
 * @returns {Promise<XmppTransport>}
 */
export async function connectXmppTransport(options) {
  const { service, domain, username, password, resource, stanzaSizeLimit, reconnectDelayMs = 1000 } = options;
  const maxTextLength = options.maxTextLength ?? (stanzaSizeLimit !== undefined ? stanzaSizeLimit - STANZA_OVERHEAD : undefined);
  const xmpp = client({ service, domain, username, password, resource });
  xmpp.reconnect.delay = reconnectDelayMs;
  const self = `${username}@${domain}`.toLowerCase();

  /** @type {XmppStatus} */
  let status = 'connecting';
  /** @type {Error | undefined} */
  let lastError;
  const statusHandlers = new Set();
  const messageHandlers = new Set();
  /** @type {[string, string][]} */
  const early = [];
  const setStatus = (next) => {
    if (status === next || status === 'closed') return;
    status = next;
    const error = next === 'online' ? undefined : lastError;
    lastError = undefined;
    for (const handler of statusHandlers) handler(next, error);
  };

  // xmpp.js reports every failure here (a listener is required); the drop itself follows as a status.
  xmpp.on('error', (error) => (lastError = error));
  let offersStreamManagement = false;
  xmpp.on('nonza', (element) => {
    if (element.is('features', STREAMS)) offersStreamManagement = element.getChild('sm', SM) !== undefined;
  });
  xmpp.on('online', async () => {
    try {
      // xmpp.js 0.14 zeroes its count of received stanzas a moment after <enabled/> (XEP-0198): a
      // stanza and an ack request arriving with it make it acknowledge more than the server sent,
      // and prosody closes the stream. Nothing comes to this resource before its presence.
      if (offersStreamManagement) await streamManagementSettled(xmpp);
      // Available presence: the server now routes messages for the bare JID to this resource
      // (and hands over what it stored while the account was offline).
      await xmpp.send(xml('presence'));
      setStatus('online');
    } catch {
      // Dropped again at once: the status change follows.
    }
  });
  // A resumed stream (XEP-0198) keeps the session and its presence; xmpp.js emits no `online`.
  xmpp.streamManagement.on('resumed', () => setStatus('online'));
  xmpp.on('status', (s) => {
    if (s !== 'online' && status === 'online') setStatus('reconnecting');
  });

  xmpp.on('stanza', (stanza) => {
    if (!stanza.is('message') || !['chat', 'normal', undefined].includes(stanza.attrs.type)) return;
    // Carbons (copies of this account's other conversations) carry no top-level body.
    const body = stanza.getChildText('body');
    const from = stanza.attrs.from?.split('/')[0].toLowerCase();
    if (body === null || !from || from === self) return;
    // What comes before the first handler waits for it: the server hands over what it stored
    // right after the first presence, often before the app has subscribed.
    if (messageHandlers.size === 0) {
      if (early.length < MAX_EARLY) early.push([from, body]);
      return;
    }
    for (const handler of messageHandlers) handler(from, body);
  });

  const fail = (code, message, cause) => Object.assign(new Error(message, { cause }), { code });

  /** @type {XmppTransport} */
  const transport = {
    maxTextLength,
    get status() {
      return status;
    },
    xmpp,
    async send(to, text) {
      if (status !== 'online') throw fail('TRANSPORT_CLOSED', `XMPP is ${status}`);
      if (maxTextLength !== undefined && text.length > maxTextLength) {
        throw fail('MESSAGE_TOO_LARGE', `text of ${text.length} characters, over maxTextLength ${maxTextLength}`);
      }
      const stanza = xml(
        'message',
        { type: 'chat', to },
        xml('body', {}, text),
        // Not copied to this account's other carbons-enabled clients (XEP-0280, XEP-0334).
        xml('private', { xmlns: CARBONS }),
        xml('no-copy', { xmlns: HINTS }),
      );
      // Characters are not bytes (UTF-8, XML escapes): check what the server will count.
      const bytes = new TextEncoder().encode(stanza.toString()).length;
      if (stanzaSizeLimit !== undefined && bytes + RESEND_OVERHEAD > stanzaSizeLimit) {
        throw fail('MESSAGE_TOO_LARGE', `stanza of ${bytes} bytes, too close to stanzaSizeLimit ${stanzaSizeLimit}`);
      }
      try {
        await xmpp.send(stanza);
      } catch (cause) {
        throw fail('TRANSPORT_CLOSED', 'XMPP connection lost while sending', cause);
      }
    },
    onMessage(handler) {
      messageHandlers.add(handler);
      for (const [from, body] of early.splice(0)) queueMicrotask(() => messageHandlers.has(handler) && handler(from, body));
      return () => messageHandlers.delete(handler);
    },
    onStatus(handler) {
      statusHandlers.add(handler);
      return () => statusHandlers.delete(handler);
    },
    async close() {
      if (status === 'closed') return;
      setStatus('closed');
      messageHandlers.clear();
      statusHandlers.clear();
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => {});
    },
  };

  let unsubscribe = () => {};
  try {
    await new Promise((resolve, reject) => {
      unsubscribe = transport.onStatus((s) => s === 'online' && resolve());
      xmpp.start().catch(reject);
    });
    unsubscribe();
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

/** Resolves once the server has answered xmpp.js's request to enable stream management (or after its timeout). */
function streamManagementSettled(xmpp) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      xmpp.removeListener('nonza', onNonza);
      resolve();
    };
    const onNonza = (element) => (element.is('enabled', SM) || element.is('failed', SM)) && done();
    const timer = setTimeout(done, xmpp.timeout);
    xmpp.on('nonza', onNonza);
  });
}
