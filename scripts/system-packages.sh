#!/usr/bin/env bash
# Run before `npm test` (npm's pretest): the Debian packages the tests use, installed when missing.
#   chromium   headless browser for the frame-encryption (insertable streams) tests
#   coturn     TURN server for the relayed-call tests
#   prosody    XMPP server for the tests of examples/xmpp (test/xmpp.test.ts)
#   redis-server  Redis for the relay's shared store (test/relay-redis.test.ts)
# As root with apt-get they are installed; otherwise this stops at once, naming the command.
set -euo pipefail

declare -A package_of=([chromium]=chromium [turnserver]=coturn [prosody]=prosody [redis-server]=redis-server)
missing=()
for command in "${!package_of[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${package_of[$command]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sealcall tests: installing Debian packages ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  exit 0
fi

echo "sealcall tests need the Debian packages ${missing[*]}. Install them with:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 1
