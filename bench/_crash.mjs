import { ready } from 'sealcall';
import { sealcallSetup, simplePeerSetup } from './setup.mjs';
await ready();
const which = process.argv[2];
const opts = JSON.parse(process.argv[3] ?? '{}');
for (let i = 0; i < 150; i++) {
  if (which === 'sp') await simplePeerSetup(opts); else await sealcallSetup(opts);
  if (i % 25 === 0) console.log(i);
}
process.exit(0);
