/**
 * sealcall browser example: one profile per tab (?name=alice), an identity and a relay queue kept
 * in localStorage, contacts added by pasting their address, and one call at a time with its
 * state machine, end-to-end encryption mode, network path, quality and frame counters shown live.
 * During a call: mute, camera (on/off, or add video to an audio call and stop it again), flip
 * camera, next microphone, screen sharing and hold; an incoming call can be declined silently.
 * `?ring=<seconds>` shortens the ring timeout (30 s by default), e.g. to watch a silently declined
 * call end `no-answer` on the caller's side.
 *
 * Plain JavaScript, no build step: it loads the library's self-contained browser build
 * (dist/browser/sealcall.js, made by `npm run build`), which finds its frame worker next to itself.
 */

/** The browser build, relative to this file (examples/browser/ → dist/browser/). */
const BUILD_URL = new URL('../../dist/browser/sealcall.js', import.meta.url).href;
/** Profiles a tab without ?name= picks from: the first one no other tab of this browser holds. */
const PROFILES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
/** States in which a call is still going. */
const LIVE = new Set(['outgoing', 'incoming', 'joining', 'connected', 'reconnecting', 'disconnecting']);
const MEDIA_FLOWING = new Set(['joining', 'connected', 'reconnecting']);
/** States in which a call can be held and video added or removed. */
const CONNECTED = new Set(['connected', 'reconnecting']);
const LOG_LIMIT = 80;

const $ = (id) => document.getElementById(id);

/** The library module, once loaded. */
let sealcall;
let profileName;
/** Persisted: { secretKey, queues: { [relayUrl]: QueueState }, contacts: { [name]: address } }. */
let profile;
let identity;
let transport;
let client;
/** name → { address, publicKey } */
const contacts = new Map();
/** The call on screen and what the page knows of it (see follow()). */
let view;
/** A call is being placed (camera prompt, invitation on its way). */
let placing = false;

main().catch((error) => {
  if ($('notice').hidden) showNotice(`Could not start: ${describe(error)}`); // else it says why already
  log(`error: ${describe(error)}`);
});

async function main() {
  wireControls();
  profileName = await chooseProfile();
  if (!profileName) return;
  $('profile-name').textContent = profileName;
  document.title = `${profileName} · sealcall`;
  const other = PROFILES.find((name) => name !== profileName) ?? 'bob';
  $('other-tab').href = `?name=${encodeURIComponent(other)}`;
  $('other-tab').textContent = `?name=${other}`;
  document.querySelector('#add-contact [name="name"]').placeholder = other;

  try {
    sealcall = await import(BUILD_URL);
  } catch (error) {
    showNotice('The browser build is missing: run `npm run build` in the sealcall folder, then reload this page.');
    throw error;
  }
  await sealcall.ready();

  profile = loadProfile(profileName);
  identity = profile.secretKey
    ? sealcall.identityFromSecretKey(fromBase64(profile.secretKey))
    : sealcall.generateIdentity();
  profile.secretKey = toBase64(identity.secretKey);
  saveProfile();
  $('my-key').textContent = fingerprint(identity.publicKey);

  const relayUrl = await findRelay();
  $('relay-url').textContent = relayUrl;
  transport = await connectTransport(relayUrl);
  setRelayStatus(transport.status);
  transport.on('status', (status, error) => {
    setRelayStatus(status);
    log(`relay ${status}${error ? ` (${error.code})` : ''}`);
    if (status === 'failed' && error?.code === 'QUEUE_TAKEN_OVER') {
      // Not another tab of this browser (the profile's lock prevents that): a copy of its saved state.
      showNotice('Another client with this profile’s saved state subscribed to its relay queue and gets its calls now. Reload this page to take them back.');
    } else if (status === 'failed') {
      showNotice('Lost the relay for good. Reload the page once it runs again.');
    }
  });
  transport.on('warning', (error) => log(`transport warning ${describe(error)}`));
  $('my-address').value = transport.address;
  $('copy-address').disabled = false;

  for (const [name, address] of Object.entries(profile.contacts)) {
    try {
      addContact(name, address, { save: false });
    } catch (error) {
      log(`dropped saved contact ${name}: ${describe(error)}`);
    }
  }
  renderContacts();

  // The transport knows each contact's key from its address (addContact): no `contacts` here.
  client = await sealcall.CallClient.create({ identity, transport, ...ringTimeout() });
  client.on('incoming', (call) => {
    log(`incoming ${call.media} call from ${call.peer}`);
    follow(call);
  });
  // A placed call is on screen at once, `outgoing`, while the browser still asks for the camera.
  client.on('outgoing', (call) => {
    log(`calling ${call.peer} (${call.media})`);
    follow(call);
  });
  client.on('warning', (error) => {
    const hint = error.code === 'UNKNOWN_CONTACT' ? ' (someone not in your contacts tried to call: add their address first)' : '';
    log(`warning ${describe(error)}${hint}`);
  });
  addEventListener('pagehide', () => {
    void client.close();
    transport.close();
  });
  setInterval(() => void tick(), 1000);
  log(`ready as ${profileName}`);
  render();
}

// ---------------------------------------------------------------------------------------------
// Profile, identity, relay

/**
 * The profile named by ?name=, or the first free one of PROFILES. A Web Lock per profile keeps
 * two tabs of one browser from using the same identity and queue.
 */
async function chooseProfile() {
  const params = new URLSearchParams(location.search);
  const asked = params.get('name')?.trim();
  if (asked) {
    if (await claim(asked)) return asked;
    showNotice(`“${asked}” is already open in another tab of this browser: open this page with another ?name=…`);
    return undefined;
  }
  const free = (await firstFree(PROFILES)) ?? `guest-${Math.random().toString(36).slice(2, 6)}`;
  params.set('name', free);
  history.replaceState(null, '', `?${params}`);
  return free;
}

async function firstFree(names) {
  for (const name of names) if (await claim(name, 0)) return name;
  return undefined;
}

/** Holds the profile's lock until the tab closes; retries a little (a reload releases it late). */
async function claim(name, retries = 5) {
  if (!navigator.locks) return true;
  for (let attempt = 0; ; attempt++) {
    const got = await new Promise((resolve) => {
      navigator.locks.request(`sealcall-demo:${name}`, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise(() => {}) : undefined;
      });
    });
    if (got || attempt >= retries) return got;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function loadProfile(name) {
  let stored;
  try {
    stored = JSON.parse(localStorage.getItem(`sealcall-demo:${name}`) ?? '{}');
  } catch {
    stored = {};
  }
  return { secretKey: stored.secretKey, queues: stored.queues ?? {}, contacts: stored.contacts ?? {} };
}

function saveProfile() {
  localStorage.setItem(`sealcall-demo:${profileName}`, JSON.stringify(profile));
}

/** ?ring=<seconds>: how long invitations ring, both ways (the library's default is 30 s). */
function ringTimeout() {
  const seconds = Number(new URLSearchParams(location.search).get('ring') ?? NaN);
  return seconds > 0 && seconds <= 600 ? { ringTimeoutMs: Math.round(seconds * 1000) } : {};
}

/**
 * ?relay=<URL>, else what the demo server says (relay.json). A relay URL names the relay's key
 * (ws://<fingerprint>@host:port, as `sealcall relay` prints it), so it cannot be guessed from
 * this page's own address.
 */
async function findRelay() {
  const asked = new URLSearchParams(location.search).get('relay');
  if (asked) return asked;
  try {
    const response = await fetch('relay.json', { cache: 'no-store' });
    if (response.ok) return (await response.json()).relayUrl;
  } catch {
    // Not served by `sealcall relay --demo-page`: fall through.
  }
  showNotice('No relay: serve this page with `npm run example:browser` (or `sealcall relay --demo-page`), or open it with ?relay=<the URL `sealcall relay` printed>.');
  throw new Error('no relay URL');
}

/** Reuses this profile's queue on that relay; makes a new one if the relay forgot it. */
async function connectTransport(url) {
  const state = profile.queues[url];
  let connected;
  try {
    connected = await sealcall.WebSocketTransport.connect({ url, identity, ...(state ? { state } : {}) });
  } catch (error) {
    if (!state || error.code === 'RELAY_UNREACHABLE') {
      if (error.code === 'RELAY_UNREACHABLE') {
        showNotice(`Cannot reach the relay at ${url}. Start it with \`npm run example:browser\` (or \`sealcall relay --demo-page\`), then reload.`);
      }
      throw error;
    }
    // The relay lost the queue (or it was saved by an older version): a new queue means a new address.
    log(`the relay no longer has this profile's queue (${error.code}): making a new one`);
    showNotice('Your address changed (the relay was restarted): give it to your contacts again.');
    connected = await sealcall.WebSocketTransport.connect({ url, identity });
  }
  profile.queues[url] = connected.exportState();
  saveProfile();
  return connected;
}

// ---------------------------------------------------------------------------------------------
// Contacts

function addContact(name, address, { save = true } = {}) {
  if (!name || name.startsWith('key:') || name.length > 40) throw new Error('a name has 1 to 40 characters and does not start with “key:”');
  const { publicKey } = sealcall.decodeAddress(address);
  if (sameBytes(publicKey, identity.publicKey)) throw new Error('that is your own address: paste the other tab’s');
  for (const [other, entry] of contacts) {
    if (other !== name && sameBytes(entry.publicKey, publicKey)) throw new Error(`that address is already saved as ${other}`);
  }
  if (contacts.has(name)) transport.removeContact(name); // a new address replaces the old one
  transport.addContact(name, address);
  contacts.set(name, { address, publicKey });
  if (save) {
    profile.contacts[name] = address;
    saveProfile();
    log(`contact added: ${name}`);
  }
}

function removeContact(name) {
  transport.removeContact(name);
  contacts.delete(name);
  delete profile.contacts[name];
  saveProfile();
  log(`contact removed: ${name}`);
  renderContacts();
}

function renderContacts() {
  const list = $('contacts');
  list.replaceChildren(
    ...[...contacts].map(([name, { publicKey }]) => {
      const item = document.createElement('li');
      const label = element('span', 'contact-name', name);
      const key = element('code', 'muted', fingerprint(publicKey, 4));
      const actions = element('span', 'actions');
      actions.append(
        button('Video call', () => void placeCall(name, 'video'), 'call-button'),
        button('Audio call', () => void placeCall(name, 'audio'), 'call-button'),
        button('Remove', () => removeContact(name), 'link remove-button'),
      );
      item.append(label, key, actions);
      return item;
    }),
  );
  $('no-contacts').hidden = contacts.size > 0;
  render();
}

// ---------------------------------------------------------------------------------------------
// Calls

async function placeCall(name, media) {
  placing = true;
  render();
  try {
    await client.call(name, { media }); // the `outgoing` event put it on screen
  } catch (error) {
    showNotice(`Could not call ${name}: ${describe(error)}`);
    log(`call failed: ${describe(error)}`);
  } finally {
    placing = false;
    render();
  }
}

/** Puts a call on screen and follows its events until it ends (or another call replaces it). */
function follow(call) {
  const v = {
    call,
    history: call.state === 'idle' ? ['idle'] : ['idle', call.state],
    since: Date.now(),
    knowsE2ee: call.direction === 'incoming',
    connectedAt: undefined,
    durationMs: undefined,
    path: undefined,
    quality: undefined,
    counters: undefined,
    rates: undefined,
    remoteMedia: undefined,
    ended: undefined,
    /** The camera's facing mode, as last chosen with "Flip camera". */
    facingMode: 'user',
    screenSharing: false,
    /** The only video sent while sharing is the screen: sharing started without a camera (an audio call). */
    shareWithoutCamera: false,
    /** The camera was added mid-call ("Add video"), so "Stop video" removes it. */
    cameraAdded: false,
    /** "Add video" / "Stop video" is under way (camera prompt, renegotiation). */
    changingVideo: false,
  };
  view = v;
  hideNotice();
  $('remote-video').srcObject = null;
  $('unmute-remote').hidden = true;
  const onScreen = () => view === v;

  call.on('state', (state, previous) => {
    v.history.push(state);
    if (state !== 'outgoing') v.knowsE2ee = true;
    if (state === 'connected' && !v.connectedAt) v.connectedAt = Date.now();
    log(`${call.peer}: ${previous} → ${state}`);
    if (state === 'connected') void tick();
    if (onScreen()) render();
  });
  call.on('ringing', () => {
    v.knowsE2ee = true; // the callee's capabilities came with its ringing reply
    log(`${call.peer} is ringing`);
    if (onScreen()) render();
  });
  call.on('track', (_track, stream) => {
    if (onScreen()) playRemote(stream);
  });
  call.on('remote-media', (media) => {
    if (media.held !== (v.remoteMedia?.held ?? false)) {
      log(media.held ? `on hold by ${call.peer}: media paused both ways` : `${call.peer} resumed the call`);
    }
    if (media.screenSharing !== (v.remoteMedia?.screenSharing ?? false)) {
      log(media.screenSharing ? `${call.peer} is sharing their screen` : `${call.peer} stopped sharing their screen`);
    }
    v.remoteMedia = media;
    if (onScreen()) render();
  });
  call.on('media', (media) => {
    log(`the call is now ${media === 'video' ? 'a video' : 'an audio'} call`);
    if (onScreen()) render();
  });
  call.on('local-media', ({ screenSharing }) => {
    if (screenSharing !== v.screenSharing) log(screenSharing ? 'sharing the screen' : 'screen sharing stopped');
    v.screenSharing = screenSharing;
    if (onScreen()) render();
  });
  call.on('quality', (quality) => {
    if (quality.level !== v.quality?.level) log(`call quality ${quality.level}`);
    v.quality = quality;
    if (onScreen()) render();
  });
  call.on('ended', (ended) => {
    const { reason, error, durationMs, silent } = ended;
    v.ended = { reason, code: error?.code, silent };
    v.durationMs = durationMs; // the connected time, 0 if it never connected
    const after = durationMs > 0 ? ` after ${duration(durationMs)}` : '';
    const quietly = silent ? `, silently: ${call.peer} was not told (their call rings on until it times out)` : '';
    log(`call with ${call.peer} ended: ${reason}${error ? ` (${describe(error)})` : ''}${after}${quietly}`);
    log(`history: ${historyEntry(call.peer, ended)}`);
    if (!onScreen()) return;
    $('remote-video').srcObject = null;
    $('unmute-remote').hidden = true;
    render();
  });
  render();
}

async function act(action) {
  const call = view?.call;
  if (!call) return;
  try {
    switch (action) {
      case 'accept':
        await call.accept(); // camera and microphone for a video call, microphone for audio
        break;
      case 'reject':
        await call.reject();
        break;
      case 'decline':
        await call.reject({ silent: true }); // the ended event says the caller was not told
        break;
      case 'hold':
        call.setOnHold(!call.onHold);
        log(call.onHold ? `call on hold: media paused both ways, ${call.peer} is told` : 'call resumed');
        break;
      case 'hangup':
        await call.hangup();
        break;
      case 'mute':
        log((await call.setAudioMuted(!call.audioMuted)) ? 'microphone muted' : 'microphone on');
        break;
      case 'camera':
        await camera(view);
        break;
      case 'flip': {
        // No renegotiation: the new camera's track replaces the old one on the same (encrypted) sender.
        const facingMode = view.facingMode === 'environment' ? 'user' : 'environment';
        await call.switchCamera({ facingMode });
        view.facingMode = facingMode;
        log(`camera: ${facingMode === 'user' ? 'front' : 'back'} (${call.localStream.getVideoTracks()[0]?.label})`);
        break;
      }
      case 'microphone': {
        const next = await nextMicrophone(call);
        if (!next) {
          log('no other microphone');
          break;
        }
        await call.switchMicrophone(next.deviceId);
        log(`microphone: ${next.label || next.deviceId}`);
        break;
      }
      case 'share':
        if (call.screenSharing) {
          await call.stopScreenShare();
        } else {
          // On a call without a camera the screen is added as video, and taken out again after.
          view.shareWithoutCamera = cameraMode(view) === 'add';
          await call.startScreenShare();
        }
        break;
    }
  } catch (error) {
    if (error.code === 'SCREEN_PERMISSION_DENIED') {
      log('screen sharing cancelled');
      render();
      return;
    }
    showNotice(`${action} failed: ${describe(error)}`);
    log(`${action} failed: ${describe(error)}`);
  }
  render();
}

/**
 * The camera button: on a call that started with a camera, turns it off and on (the track stays,
 * sending black); without one (an audio call), adds a camera, renegotiating, and "Stop video"
 * removes what was added (the call is an audio call again unless the peer sends video).
 */
async function camera(v) {
  const { call } = v;
  const mode = cameraMode(v);
  if (mode === 'toggle') {
    log((await call.setVideoEnabled(!call.videoEnabled)) ? 'camera on' : 'camera off');
    return;
  }
  v.changingVideo = true;
  render();
  try {
    if (mode === 'add') {
      await call.addVideo();
      v.cameraAdded = true;
      log(`video added: ${call.localStream?.getVideoTracks()[0]?.label ?? 'camera'}`);
    } else {
      await call.removeVideo(); // the screen too, if it is being shared
      v.cameraAdded = false;
      log('video stopped');
    }
  } finally {
    v.changingVideo = false;
  }
}

/** What the camera button does: 'add' (no camera is sent), 'remove' (one added mid-call) or 'toggle'. */
function cameraMode(v) {
  const { call } = v;
  if (!call.localStream) return call.media === 'video' ? 'toggle' : 'add'; // still ringing
  const sent = call.localStream.getVideoTracks().length > 0;
  if (!sent || (call.screenSharing && v.shareWithoutCamera)) return 'add';
  return v.cameraAdded ? 'remove' : 'toggle';
}

/** The audio input after the one being sent, in the browser's list (cycling); undefined if there is no other. */
async function nextMicrophone(call) {
  const current = call.localStream?.getAudioTracks()[0]?.getSettings().deviceId;
  // "default" and "communications" are aliases of real devices.
  const inputs = (await navigator.mediaDevices.enumerateDevices()).filter(
    (d) => d.kind === 'audioinput' && d.deviceId !== 'default' && d.deviceId !== 'communications',
  );
  const others = inputs.filter((d) => d.deviceId !== current);
  if (others.length === 0) return undefined;
  const at = inputs.findIndex((d) => d.deviceId === current);
  return at === -1 ? others[0] : inputs[(at + 1) % inputs.length];
}

function playRemote(stream) {
  const video = $('remote-video');
  if (video.srcObject === stream) return;
  video.srcObject = stream;
  video.muted = false;
  video.play().catch(() => {
    // Autoplay with sound needs a user gesture on this page first: play muted, offer a button.
    video.muted = true;
    void video.play().catch(() => {});
    $('unmute-remote').hidden = false;
  });
}

/** Every second: the path and frame counters of the call on screen. */
async function tick() {
  const v = view;
  if (!v) return;
  const { call } = v;
  if (MEDIA_FLOWING.has(call.state)) {
    const [path, counters] = await Promise.all([
      call.path().catch(() => undefined),
      call.frameCounters().catch(() => undefined),
    ]);
    if (path) v.path = path;
    if (counters) {
      const now = Date.now();
      if (v.counters) {
        const seconds = Math.max((now - v.countersAt) / 1000, 0.001);
        v.rates = {
          sent: (counters.send.encrypted - v.counters.send.encrypted) / seconds,
          received: (counters.receive.decrypted - v.counters.receive.decrypted) / seconds,
        };
      }
      v.counters = counters;
      v.countersAt = now;
    }
  }
  if (v === view) render();
}

// ---------------------------------------------------------------------------------------------
// Rendering

function render() {
  const v = view;
  const call = v?.call;
  const state = call?.state ?? 'idle';
  const live = LIVE.has(state);

  $('call-title').textContent = title(v);
  $('accept').hidden = $('reject').hidden = $('decline').hidden = state !== 'incoming';
  $('hangup').disabled = !live || state === 'disconnecting';
  const stream = call?.localStream;
  const hasAudio = Boolean(stream?.getAudioTracks().length);
  const hasVideo = Boolean(stream?.getVideoTracks().length);
  setToggle($('mute'), MEDIA_FLOWING.has(state) && hasAudio, call?.audioMuted, 'Unmute', 'Mute');
  const connected = CONNECTED.has(state);
  const mode = live ? cameraMode(v) : 'toggle';
  if (mode === 'add') setToggle($('camera'), connected && !call.screenSharing && !v.changingVideo, false, 'Stop video', 'Add video');
  else if (mode === 'remove') setToggle($('camera'), connected && !v.changingVideo, true, 'Stop video', 'Add video');
  else setToggle($('camera'), MEDIA_FLOWING.has(state) && hasVideo, hasVideo && !call.videoEnabled, 'Camera on', 'Camera off');
  setToggle($('hold'), connected, live && call.onHold, 'Resume', 'Hold');
  $('flip').disabled = !MEDIA_FLOWING.has(state) || !hasVideo || call.screenSharing;
  $('microphone').disabled = !MEDIA_FLOWING.has(state) || !hasAudio;
  const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  setToggle($('share'), MEDIA_FLOWING.has(state) && canShare, call?.screenSharing, 'Stop sharing', 'Share screen');

  const local = $('local-video');
  const wanted = live && hasVideo ? stream : null;
  if (local.srcObject !== wanted) local.srcObject = wanted;
  // A shared screen is shown whole (letterboxed), not cropped to the frame like a camera.
  const peerSharing = live && v.remoteMedia?.screenSharing === true;
  $('remote-caption').textContent = call ? (peerSharing ? `${call.peer}'s screen` : call.peer) : 'remote';
  $('remote-video').dataset.screen = String(peerSharing);

  $('call-state').textContent = state;
  $('call-state').dataset.state = state;
  $('call-e2ee').textContent = !v?.knowsE2ee ? '—' : call.e2ee === 'frame' ? 'frame · SFrame over DTLS-SRTP' : 'transport · DTLS-SRTP only';
  $('call-e2ee').dataset.mode = v?.knowsE2ee ? call.e2ee : '';
  $('call-path').textContent = !v?.path ? '—' : v.path === 'direct' ? 'direct · peer to peer' : 'relayed · through TURN';
  $('call-duration').textContent =
    v?.durationMs !== undefined ? duration(v.durationMs) : v?.connectedAt ? duration(Date.now() - v.connectedAt) : '—';
  const quality = v && !v.ended ? v.quality : undefined;
  $('call-quality').textContent = quality?.level ?? '—';
  $('call-quality').dataset.level = quality?.level ?? '';
  // Each direction: ↓ what this side receives, ↑ what it sends (loss and jitter as the peer reports them).
  const figure = (value, unit) => (value === undefined ? '–' : `${value}${unit}`);
  const both = (d, unit) => (quality ? `${figure(d.receive, unit)} ↓ · ${figure(d.send, unit)} ↑` : '—');
  $('call-rtt').textContent = quality ? figure(quality.rttMs, ' ms') : '—';
  $('call-loss').textContent = both(quality?.lossPercent, '%');
  $('call-jitter').textContent = both(quality?.jitterMs, ' ms');
  $('call-bitrate').textContent = quality ? `${both(mapValues(quality.bitrateKbps, Math.round), '')} kbps` : '—';
  // While the peer shares its screen, its video choice applies to the screen.
  const remoteVideo = (m) => (m.screenSharing ? (m.videoEnabled ? 'sharing screen' : 'sharing screen, video off') : m.videoEnabled ? 'camera on' : 'camera off');
  $('call-remote-media').textContent = v?.remoteMedia ? `${v.remoteMedia.audioMuted ? 'muted' : 'mic on'}, ${remoteVideo(v.remoteMedia)}` : '—';
  const holders = live ? [call.onHold && 'you', v.remoteMedia?.held && call.peer].filter(Boolean) : [];
  $('call-hold').textContent = holders.length ? `on hold by ${holders.join(' and ')}` : connected ? 'no' : '—';
  $('call-hold').dataset.held = String(holders.length > 0);
  $('call-ended').textContent = v?.ended
    ? `${v.ended.reason}${v.ended.code ? ` (${v.ended.code})` : ''}${v.ended.silent ? ' · silently' : ''}`
    : '—';

  for (const item of $('states').children) {
    const s = item.dataset.state;
    item.classList.toggle('visited', Boolean(v?.history.includes(s)));
    if (s === state && v) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  }

  const c = v?.counters;
  $('sent-encrypted').textContent = c ? number(c.send.encrypted) : '—';
  $('sent-dropped').textContent = c ? number(dropped(c.send)) : '—';
  $('sent-dropped').title = c ? reasons(c.send) : '';
  $('received-decrypted').textContent = c ? number(c.receive.decrypted) : '—';
  $('received-dropped').textContent = c ? number(dropped(c.receive)) : '—';
  $('received-dropped').title = c ? reasons(c.receive) : '';
  $('sent-rate').textContent = v?.rates && !v.ended ? Math.round(v.rates.sent).toString() : '—';
  $('received-rate').textContent = v?.rates && !v.ended ? Math.round(v.rates.received).toString() : '—';

  const busy = live || placing || !client;
  for (const b of document.querySelectorAll('.call-button')) b.disabled = busy;
  for (const b of document.querySelectorAll('.remove-button')) b.disabled = busy;
  document.body.dataset.call = state;
}

function title(v) {
  if (!v) return 'No call';
  const { call } = v;
  if (call.state === 'incoming') {
    const left = Math.max(0, Math.ceil((v.since + client.ringTimeoutMs - Date.now()) / 1000));
    return `Incoming ${call.media} call from ${call.peer} · ${left} s`;
  }
  const what = `${call.media === 'video' ? 'Video' : 'Audio'} call ${call.direction === 'outgoing' ? 'to' : 'from'} ${call.peer}`;
  if (v.ended) return `${what} · ended`;
  return call.onHold || v.remoteMedia?.held ? `${what} · on hold` : what;
}

function setToggle(control, enabled, pressed, onLabel, offLabel) {
  control.disabled = !enabled;
  control.setAttribute('aria-pressed', String(Boolean(pressed)));
  control.textContent = pressed ? onLabel : offLabel;
}

function setRelayStatus(status) {
  $('relay-status').textContent = status;
  $('relay-status').dataset.status = status;
}

// ---------------------------------------------------------------------------------------------
// Controls, notices, log

function wireControls() {
  for (const action of ['accept', 'reject', 'decline', 'hangup', 'hold', 'mute', 'camera', 'flip', 'microphone', 'share']) {
    $(action).addEventListener('click', () => void act(action));
  }
  $('unmute-remote').addEventListener('click', () => {
    $('remote-video').muted = false;
    $('unmute-remote').hidden = true;
  });
  $('copy-address').addEventListener('click', () => void copyAddress());
  $('notice').addEventListener('click', hideNotice);
  $('add-contact').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.elements.namedItem('name').value.trim();
    const address = form.elements.namedItem('address').value.trim();
    if (!sealcall || !transport) return showNotice('Still connecting to the relay…');
    try {
      addContact(name, address);
      form.reset();
      hideNotice();
      renderContacts();
    } catch (error) {
      showNotice(`Could not add ${name || 'the contact'}: ${describe(error)}`);
    }
  });
}

async function copyAddress() {
  const field = $('my-address');
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.select();
    copied = document.execCommand('copy');
  }
  $('copy-feedback').textContent = copied ? 'Copied.' : 'Selected: press Ctrl+C.';
  setTimeout(() => ($('copy-feedback').textContent = ''), 3000);
}

function showNotice(text) {
  const notice = $('notice');
  notice.replaceChildren(...text.split(/`([^`]+)`/).map((part, i) => (i % 2 ? element('code', '', part) : part)));
  notice.hidden = false;
}

function hideNotice() {
  $('notice').hidden = true;
}

function log(text) {
  const entry = element('li');
  entry.append(element('time', 'muted', new Date().toLocaleTimeString([], { hour12: false })), ` ${text}`);
  const list = $('log');
  list.prepend(entry);
  while (list.children.length > LOG_LIMIT) list.lastElementChild.remove();
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function element(tag, className = '', text = '') {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function button(label, onClick, className) {
  const node = element('button', className, label);
  node.type = 'button';
  node.addEventListener('click', onClick);
  return node;
}

function describe(error) {
  if (error && typeof error === 'object' && 'code' in error) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** `{ send, receive }` with `fn` applied to the numbers. */
function mapValues(d, fn) {
  return { send: d.send === undefined ? undefined : fn(d.send), receive: d.receive === undefined ? undefined : fn(d.receive) };
}

function dropped(counters) {
  return Object.values(counters.dropped).reduce((sum, n) => sum + n, 0);
}

function reasons(counters) {
  const nonZero = Object.entries(counters.dropped).filter(([, n]) => n > 0);
  return nonZero.length ? nonZero.map(([reason, n]) => `${reason}: ${n}`).join(', ') : 'none dropped';
}

function number(n) {
  return n.toLocaleString('en-US');
}

/** A call history line from the `ended` event: "outgoing audio call to bob, 14:02:11–14:03:40, connected at 14:02:15 for 1:25". */
function historyEntry(peer, { direction, media, startedAt, connectedAt, endedAt, durationMs }) {
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  const connected = connectedAt ? `connected at ${clock(connectedAt)} for ${duration(durationMs)}` : 'never connected';
  return `${direction} ${media} call ${direction === 'outgoing' ? 'to' : 'from'} ${peer}, ${clock(startedAt)}–${clock(endedAt)}, ${connected}`;
}

function duration(ms) {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Groups of hex digits of a key's first bytes: what two people compare to verify a contact. */
function fingerprint(key, groups = 8) {
  const hex = [...key.subarray(0, groups * 2)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g).join(' ');
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
